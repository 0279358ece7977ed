/**
 * The `h4mk` program: one commander command per verb (./commands/), shared
 * output and one error → exit code mapping (./errors.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerBlock } from './commands/block.js';
import { registerControls } from './commands/controls.js';
import { registerDemo } from './commands/demo.js';
import { registerDump } from './commands/dump.js';
import { registerGrant } from './commands/grant.js';
import { registerKeygen } from './commands/keygen.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerManifest } from './commands/manifest.js';
import { registerPack } from './commands/pack.js';
import { registerPackage } from './commands/package.js';
import { registerRange } from './commands/range.js';
import { registerSeal } from './commands/seal.js';
import { registerSeek } from './commands/seek.js';
import { registerServe } from './commands/serve.js';
import { registerShare } from './commands/share.js';
import { registerVerify } from './commands/verify.js';
import { ExitCode, reportOf } from './errors.js';
import { registerOptimize } from './commands/optimize.js';
import { registerRecover } from './commands/recover.js';
import { registerTail } from './commands/tail.js';
import { addInputOptions, beginInput, currentInput, READ_VERBS } from './input.js';
import { cliErrorView } from '../views/index.js';
import { requirePaths } from './options.js';
import { Output } from './output.js';

/** The package version, from package.json (two levels above src/cli and dist/cli). */
function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

/** Builds the program; every verb writes through `out`. */
export function createProgram(out: Output): Command {
  const program = new Command('h4mk')
    .description('H4MK media container: import and export media, pack, inspect, seek, extract and verify')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'print a stack trace with errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    // Errors are printed by run() in the h4mk format; help and version still go to stdout.
    .configureOutput({ outputError: () => {} })
    .hook('preAction', (_program, action) => {
      out.jsonMode = action.opts().json === true;
      // The input session of a read verb: files or URLs, `--stats`, `--layout` (./input.ts).
      const input = beginInput(action.opts());
      out.jsonExtra = () => input.jsonExtra();
    })
    .hook('postAction', () => {
      const stats = currentInput().textLine();
      if (stats !== undefined && !out.jsonMode) out.stderr.write(`${stats}\n`);
    });
  // Subcommands made with .command() inherit exitOverride and configureOutput.
  for (const register of [
    registerPack,
    registerImport,
    registerExport,
    registerPackage,
    registerControls,
    registerManifest,
    registerSeek,
    registerRange,
    registerBlock,
    registerVerify,
    registerDump,
    registerDemo,
    registerKeygen,
    registerGrant,
    registerSeal,
    registerTail,
    registerRecover,
    registerOptimize,
    registerServe,
    registerShare,
  ]) {
    register(program, out);
  }
  for (const command of program.commands) if (READ_VERBS.includes(command.name())) addInputOptions(command);
  requirePaths(program);
  return program;
}

/** Runs the CLI on `argv` (node and script first, as in process.argv); resolves to the exit code. */
export async function run(argv: readonly string[], out: Output = new Output()): Promise<number> {
  const program = createProgram(out);
  beginInput({});
  const args = argv.slice(2);
  const options = args.slice(0, args.includes('--') ? args.indexOf('--') : args.length);
  try {
    await program.parseAsync([...argv]);
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.OK;
      // Help shown because no verb was given: commander has already printed it on stderr.
      if (error.code === 'commander.help') return ExitCode.USAGE;
    }
    const report = reportOf(error);
    if (error instanceof CommanderError && report.hint === undefined) {
      const verb = options.find((a) => program.commands.some((c) => c.name() === a));
      report.hint = `see 'h4mk ${verb === undefined ? '' : `${verb} `}--help'`;
    }
    if ((out.jsonMode || options.includes('--json')) && !out.wroteJson) out.json(cliErrorView(report));
    out.error(report.message, report.hint);
    const stats = currentInput().textLine();
    if (stats !== undefined && !out.jsonMode && !options.includes('--json')) out.stderr.write(`${stats}\n`);
    if ((program.opts().debug === true || options.includes('--debug')) && error instanceof Error && error.stack !== undefined) out.debug(error.stack);
    return report.exitCode;
  }
}
