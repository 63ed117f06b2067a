/**
 * One job's answer (`get`), self-encoded (unary/self-encoded.ts): Connect JSON and REST take
 * `jobInfoJson`'s bytes, gRPC, gRPC-Web and Connect proto `jobInfoBinary`'s, straight from the view,
 * skipping the `JobInfo` message and protobuf-es's writers (docs/benchmarks.md "get path, this stop"
 * and "gRPC get: the binary answer from the view"). The bytes are those protobuf-es writes
 * (test/encode-differential.test.ts); the answer is one piece, so the unary path refuses one over the
 * response limit with connect's own words, as for a whole message. It is also given whole, at once
 * (`jsonText`, `binaryBytes`), which the unary path prefers: no generator, no await.
 */
import { create } from "@bufbuild/protobuf";
import { type JobInfo, JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { type JobView, toJobView } from "../../service/job-view.js";
import type { JobRow } from "../../storage/schema.js";
import { type SelfEncoder, shellsOf } from "../unary/self-encoded.js";
import { jobInfoBinary } from "./job-info-binary.js";
import { jobInfoJson, jobRowJson } from "./job-json.js";

/**
 * One job's answer, whole in memory: the pieces are the whole answer in one piece, so each encoder says
 * only how to make the whole. A class, so a call allocates no closures for it.
 */
abstract class WholeJobEncoder implements SelfEncoder {
  abstract jsonText(): string;
  abstract binaryBytes(): Uint8Array;

  async *json(): AsyncGenerator<Uint8Array> {
    yield Buffer.from(this.jsonText());
  }

  async *binary(): AsyncGenerator<Uint8Array> {
    yield this.binaryBytes();
  }
}

/** The view's encoder. */
class JobViewEncoder extends WholeJobEncoder {
  constructor(private readonly view: JobView) {
    super();
  }

  jsonText(): string {
    return jobInfoJson(this.view);
  }

  binaryBytes(): Uint8Array {
    return jobInfoBinary(this.view);
  }
}

/**
 * A stored row's encoder (`get`): JSON straight from the row (`jobRowJson`, the bytes of the view's
 * JSON without building the view: its json columns' members are kept by their text, not parsed again
 * per call); binary from the view, built only when asked.
 */
class JobRowEncoder extends WholeJobEncoder {
  constructor(private readonly row: JobRow) {
    super();
  }

  jsonText(): string {
    return jobRowJson(this.row);
  }

  binaryBytes(): Uint8Array {
    return jobInfoBinary(toJobView(this.row));
  }
}

const jobShell = shellsOf(create(JobInfoSchema));

/** The shell `JobInfo` with the view's encoder. */
export function jobAnswer(view: JobView): JobInfo {
  return jobShell(new JobViewEncoder(view));
}

/** The shell `JobInfo` with a stored row's encoder. */
export function jobRowAnswer(row: JobRow): JobInfo {
  return jobShell(new JobRowEncoder(row));
}
