/** The clients of one jobctl run: `--url`/JOB_SERVICE_URL and `--token`/TOKEN, over Connect. */
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { JobLifecycle } from "../../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { Job } from "../../../gen/spaceone/api/identity/v2/job_pb.js";

export const DEFAULT_URL = "http://127.0.0.1:8080";

export interface GlobalOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly color: boolean;
}

export interface Connection {
  readonly jobs: Client<typeof Job>;
  readonly lifecycle: Client<typeof JobLifecycle>;
}

export function connect(options: GlobalOptions): Connection {
  const auth: Interceptor = (next) => (req) => {
    if (options.token) req.header.set("authorization", `Bearer ${options.token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: options.url,
    httpVersion: "1.1",
    interceptors: [auth],
    jsonOptions: { ignoreUnknownFields: true },
  });
  return { jobs: createClient(Job, transport), lifecycle: createClient(JobLifecycle, transport) };
}
