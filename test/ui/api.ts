/** The service's REST API as the tests' independent witness of what the page should show. */
export async function rest<T = Record<string, unknown>>(
  baseUrl: string,
  token: string,
  verb: string,
  body: unknown,
): Promise<T> {
  const response = await fetch(`${baseUrl}/identity/v2/job/${verb}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${verb}: HTTP ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export interface ListAnswer {
  results: { job_id: string; status: string; trusted_account_id: string; workspace_id: string }[];
  total_count: number;
}

export type StatRow = Record<string, string | number | null>;
