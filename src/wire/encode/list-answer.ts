/**
 * The `Job.list` answer (`JobsInfo`) encoded from the rows as the store reads them: as proto JSON or
 * binary, the very bytes protobuf-es writes for the message `jobsInfo()` builds (test/encode-differential
 * .test.ts), but with at most a batch of rows and a chunk of bytes in memory at a time.
 *
 * JSON: `{"results":[...],"total_count":N,"cursor":"..."}` in field order, each job by `jobInfoJson`
 * (a whole row straight from the row by `jobRowJson`, the same bytes without the view object)
 * (binary: `jobInfoBinary`);
 * empty results, a zero total and an empty cursor are left out as protobuf-es leaves them out.
 * Binary: `total_count` and `cursor` first, then one `results` occurrence per row, which is what
 * `toBinary` writes for `jobsInfo()`'s binary message (known fields, then the rows kept as unknown
 * fields); repeated fields may come in any order on the wire, so every decoder reads the same message.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type JobsInfo, JobsInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import type { JobRows } from "../../service/job-service.js";
import type { JobView } from "../../service/job-view.js";
import type { SelfEncoder } from "../unary/self-encoded.js";
import { jobInfoBinary } from "./job-info-binary.js";
import { jobInfoJson, jobRowJson } from "./job-json.js";
import { BytePieces, TextPieces } from "./pieces.js";

/** `JobsInfo.results`' field number: each row's JobInfo is written as one occurrence of it. */
export const RESULTS_FIELD = JobsInfoSchema.field.results.number;

/** The tag of one `results` occurrence. */
const RESULTS_TAG = new BinaryWriter().tag(RESULTS_FIELD, WireType.LengthDelimited).finish();

/** One row's `results` occurrence after its tag: the JobInfo's length and bytes. */
export function resultData(view: JobView): Uint8Array {
  return new BinaryWriter().bytes(jobInfoBinary(view)).finish();
}

/** The answer without its rows (what protobuf-es writes for total_count and cursor). */
export function listShell(list: Pick<JobRows, "total_count" | "cursor">): JobsInfo {
  return create(JobsInfoSchema, { totalCount: list.total_count, cursor: list.cursor });
}

async function* listJson(list: JobRows, maxBytes: number): AsyncGenerator<Uint8Array> {
  const out = new TextPieces(maxBytes);
  let rows = 0;
  for await (const batch of list.rows) {
    for (const row of batch) {
      out.add(
        (rows === 0 ? '{"results":[' : ",") + (list.whole ? jobRowJson(row) : jobInfoJson(list.view(row))),
      );
      rows++;
    }
    if (out.full) yield out.take();
  }
  const tail: string[] = [];
  if (list.total_count !== 0) tail.push(`"total_count":${JSON.stringify(list.total_count)}`);
  if (list.cursor !== "") tail.push(`"cursor":${JSON.stringify(list.cursor)}`);
  const rest = tail.join(",");
  if (rows === 0) out.add(`{${rest}}`);
  else out.add(rest === "" ? "]}" : `],${rest}}`);
  yield out.take();
}

async function* listBinary(list: JobRows, maxBytes: number): AsyncGenerator<Uint8Array> {
  const out = new BytePieces(maxBytes);
  out.add(toBinary(JobsInfoSchema, listShell(list)));
  for await (const batch of list.rows) {
    for (const row of batch) {
      out.add(RESULTS_TAG);
      out.add(resultData(list.view(row)));
    }
    if (out.full) yield out.take();
  }
  // An empty message is zero bytes: still one (empty) piece, so the writer always gets a body.
  yield out.take();
}

/** The encoder of one list answer. Its rows can be read once: ask for one format, once. */
export function listEncoder(list: JobRows): SelfEncoder {
  return {
    json: (maxBytes) => listJson(list, maxBytes),
    binary: (maxBytes) => listBinary(list, maxBytes),
  };
}
