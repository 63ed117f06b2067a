/**
 * One job's answer (`get`), self-encoded (unary/self-encoded.ts): Connect JSON and REST take
 * `jobInfoJson`'s bytes straight from the view, skipping the `JobInfo` message and protobuf-es's JSON
 * writer (a sixth of a `get`'s CPU, docs/benchmarks.md "get path, this stop"). The bytes are those
 * protobuf-es writes (test/encode-differential.test.ts); the answer is one piece, so the unary path
 * refuses one over the response limit with connect's own words, as for a whole message.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type JobInfo, JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import type { JobView } from "../../service/job-view.js";
import { type SelfEncoder, withSelfEncoder } from "../unary/self-encoded.js";
import { toJobInfo } from "./job-info.js";
import { jobInfoJson } from "./job-json.js";

async function* once(encode: () => Uint8Array): AsyncGenerator<Uint8Array> {
  yield encode();
}

/** The shell `JobInfo` with the view's encoder: ask for one format, once. */
export function jobAnswer(view: JobView): JobInfo {
  const encoder: SelfEncoder = {
    json: () => once(() => Buffer.from(jobInfoJson(view))),
    binary: () => once(() => toBinary(JobInfoSchema, toJobInfo(view))),
  };
  return withSelfEncoder(create(JobInfoSchema), encoder);
}
