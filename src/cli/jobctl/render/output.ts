/** `-o json|yaml|ids|wide|table`: one place that prints a value in the format asked for. */
import YAML from "yaml";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml", "ids"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new Error(`unknown output format ${JSON.stringify(value)}; one of ${OUTPUT_FORMATS.join(", ")}`);
}

export function formatData(format: "json" | "yaml", value: unknown): string {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  return YAML.stringify(value, { lineWidth: 0 });
}
