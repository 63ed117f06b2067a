/**
 * The interceptors as written (src/wire/interceptor.ts) and the unary invoker over them: every way the
 * call below can answer (a value now, a promise that resolves, a throw now, a promise that rejects),
 * through the error and call interceptors, and connect's wrapping. What each cell proves: an answer given
 * at once comes back at once (no promise), a later one as a promise, and an error is mapped and recorded
 * the same way whichever way it came.
 */
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createServiceImplSpec,
  type HandlerContext,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Job, JobInfoSchema } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { errors } from "../src/errors.js";
import { type Call, callKey, newCall } from "../src/observability/call.js";
import { createCallInterceptor } from "../src/observability/call-interceptor.js";
import { createErrorInterceptor } from "../src/wire/errors.js";
import {
  type CallInterceptor,
  type CallNext,
  type CallResponse,
  connectInterceptor,
} from "../src/wire/interceptor.js";
import { CallHeaders } from "../src/wire/unary/call-headers.js";
import { unaryInvoker } from "../src/wire/unary/invoke.js";

type How = "value now" | "promise resolves" | "throws now" | "promise rejects";
const HOWS: How[] = ["value now", "promise resolves", "throws now", "promise rejects"];

const method = Job.method.get;
const answerMessage = create(JobInfoSchema, { jobId: "job-1" });

function response(): UnaryResponse {
  return {
    stream: false,
    message: answerMessage,
    method,
    service: Job,
    header: new Headers(),
    trailer: new Headers(),
  };
}

/** The call below the interceptors, answering `how`; a SpaceOneError when it fails. */
function below(how: How): CallNext {
  return () => {
    switch (how) {
      case "value now":
        return response();
      case "promise resolves":
        return Promise.resolve(response());
      case "throws now":
        throw errors.notFound("job_id", "job-1");
      case "promise rejects":
        return Promise.reject(errors.notFound("job_id", "job-1"));
    }
  };
}

function request(call: Call): UnaryRequest {
  const contextValues = createContextValues();
  contextValues.set(callKey, call);
  return {
    stream: false,
    message: create(method.input, { jobId: "job-1" }),
    method,
    service: Job,
    requestMethod: "POST",
    url: "http://localhost/spaceone.api.identity.v2.Job/get",
    signal: new AbortController().signal,
    header: new Headers(),
    contextValues,
  };
}

/** What a chain gave: whether at once, and the answer or the error, once settled. */
async function outcome(run: () => unknown): Promise<{ atOnce: boolean; value?: unknown; error?: unknown }> {
  let given: unknown;
  try {
    given = run();
  } catch (error) {
    return { atOnce: true, error };
  }
  if (!(given instanceof Promise)) return { atOnce: true, value: given };
  try {
    return { atOnce: false, value: await given };
  } catch (error) {
    return { atOnce: false, error };
  }
}

const logged: unknown[] = [];
const chain: CallInterceptor[] = [
  createErrorInterceptor(),
  createCallInterceptor({ error: (fields) => logged.push(fields) }),
];

function through(interceptors: readonly CallInterceptor[], next: CallNext): CallNext {
  return interceptors.reduceRight<CallNext>((inner, interceptor) => interceptor(inner), next);
}

describe("the error and call interceptors, as written", () => {
  for (const how of HOWS) {
    const fails = how === "throws now" || how === "promise rejects";
    const atOnce = how === "value now" || how === "throws now";
    it(`${how}: ${atOnce ? "at once" : "as a promise"}, ${fails ? "mapped to not_found and recorded" : "the answer, recorded ok"}`, async () => {
      const call = newCall({});
      const got = await outcome(() => through(chain, below(how))(request(call)));
      expect(got.atOnce).toBe(atOnce);
      if (fails) {
        expect(got.error).toBeInstanceOf(ConnectError);
        expect((got.error as ConnectError).code).toBe(Code.NotFound);
        expect(call.code).toBe("not_found");
      } else {
        expect((got.value as CallResponse).message).toBe(answerMessage);
        expect(call.code).toBe("ok");
      }
      expect(call.method).toBe("get");
    });
  }

  it("a fault that is not ours is internal, and its cause is logged once", async () => {
    const call = newCall({});
    logged.length = 0;
    const got = await outcome(() =>
      through(chain, () => {
        throw new TypeError("a bug");
      })(request(call)),
    );
    expect(got.atOnce).toBe(true);
    expect((got.error as ConnectError).code).toBe(Code.Internal);
    expect(call.code).toBe("internal");
    expect(logged).toHaveLength(1);
  });
});

describe("connect's wrapping", () => {
  for (const how of HOWS) {
    const fails = how === "throws now" || how === "promise rejects";
    it(`${how}: always a promise, ${fails ? "rejected with the mapped error" : "resolved with the answer"}`, async () => {
      const wrapped = chain.map(connectInterceptor);
      const next = wrapped.reduceRight(
        (inner, interceptor) => interceptor(inner),
        below(how) as Parameters<(typeof wrapped)[0]>[0],
      );
      const got = await outcome(() => next(request(newCall({}))));
      expect(got.atOnce).toBe(false);
      if (fails) expect((got.error as ConnectError).code).toBe(Code.NotFound);
      else expect((got.value as CallResponse).message).toBe(answerMessage);
    });
  }
});

describe("the unary invoker", () => {
  function context(): HandlerContext {
    const values = createContextValues();
    values.set(callKey, newCall({}));
    return {
      method,
      service: Job,
      requestMethod: "POST",
      protocolName: "connect",
      url: "http://localhost/spaceone.api.identity.v2.Job/get",
      signal: new AbortController().signal,
      timeoutMs: () => undefined,
      requestHeader: new CallHeaders(),
      responseHeader: new CallHeaders(),
      responseTrailer: new CallHeaders(),
      values,
    };
  }
  const answers: Record<How, () => unknown> = {
    "value now": () => answerMessage,
    "promise resolves": () => Promise.resolve(answerMessage),
    "throws now": () => {
      throw errors.notFound("job_id", "job-1");
    },
    "promise rejects": () => Promise.reject(errors.notFound("job_id", "job-1")),
  };
  for (const how of HOWS) {
    const fails = how === "throws now" || how === "promise rejects";
    const atOnce = how === "value now" || how === "throws now";
    it(`an implementation whose ${how}: the message ${atOnce ? "at once" : "as a promise"}${fails ? ", or not_found" : ""}`, async () => {
      const spec = createServiceImplSpec(Job, { get: answers[how] as never }).methods.get;
      if (spec?.kind !== "unary") throw new Error("get is unary");
      const invoke = unaryInvoker(spec, chain);
      const got = await outcome(() => invoke(context(), create(method.input, { jobId: "job-1" })));
      expect(got.atOnce).toBe(atOnce);
      if (fails) expect((got.error as ConnectError).code).toBe(Code.NotFound);
      else expect(got.value).toBe(answerMessage);
    });
  }
});
