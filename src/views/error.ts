/**
 * Error documents: the server's `{"error":{code,message,request_id}}` (every
 * error status) and what the CLI prints for a failed run under `--json`.
 * Both carry the same stable code and message.
 */
import { z } from 'zod';

export const serverErrorDoc = z
  .object({ error: z.object({ code: z.string(), message: z.string(), request_id: z.string() }) })
  .describe('Every error: a stable code (see the error table), a message, the request id');
export type ServerErrorDoc = z.infer<typeof serverErrorDoc>;

/** The JSON body of an error response. */
export function errorBody(e: { code: string; message: string }, requestId: string): ServerErrorDoc {
  return { error: { code: e.code, message: e.message, request_id: requestId } };
}

/** What the CLI knows about a failed run (cli/errors.ts `ErrorReport`). */
export type RunError = { exitCode: number; code: string; message: string; hint?: string; offset?: number; coreIndex?: number; chunk?: string };

export type CliErrorDoc = {
  ok: false;
  exit_code: number;
  error: { code: string; message: string; offset?: number; core_index?: number; chunk?: string; hint?: string };
};

/** The JSON document printed for a failed run under `--json`. */
export function cliErrorView(report: RunError): CliErrorDoc {
  const error: CliErrorDoc['error'] = { code: report.code, message: report.message };
  if (report.offset !== undefined) error.offset = report.offset;
  if (report.coreIndex !== undefined) error.core_index = report.coreIndex;
  if (report.chunk !== undefined) error.chunk = report.chunk;
  if (report.hint !== undefined) error.hint = report.hint;
  return { ok: false, exit_code: report.exitCode, error };
}
