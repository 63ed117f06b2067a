/**
 * One job's answer (`get`), self-encoded (unary/self-encoded.ts): Connect JSON and REST take
 * `jobInfoJson`'s bytes, gRPC, gRPC-Web and Connect proto `jobInfoBinary`'s, straight from the view,
 * skipping the `JobInfo` message and protobuf-es's writers (docs/benchmarks.md "get path, this stop"
 * and "gRPC get: the binary answer from the view"). The bytes are those protobuf-es writes
 * (test/encode-differential.test.ts); the answer is one piece, so the unary path refuses one over the
 * response limit with connect's own words, as for a whole message.
 */
import { create } from "@bufbuild/protobuf";
import { type JobInfo, JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import type { JobView } from "../../service/job-view.js";
import { type SelfEncoder, withSelfEncoder } from "../unary/self-encoded.js";
import { jobInfoBinary } from "./job-info-binary.js";
import { jobInfoJson } from "./job-json.js";

async function* once(encode: () => Uint8Array): AsyncGenerator<Uint8Array> {
  yield encode();
}

/** The shell `JobInfo` with the view's encoder: ask for one format, once. */
export function jobAnswer(view: JobView): JobInfo {
  const encoder: SelfEncoder = {
    json: () => once(() => Buffer.from(jobInfoJson(view))),
    binary: () => once(() => jobInfoBinary(view)),
  };
  return withSelfEncoder(create(JobInfoSchema), encoder);
}
