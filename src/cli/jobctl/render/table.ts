/**
 * A borderless table (kubectl style) that fits the terminal: columns keep their natural width while
 * the row fits; otherwise the flexible ones shrink (longest first, never below their minimum, cut
 * with `…`), and if that is not enough, the least important columns are dropped. Widths are measured
 * on the plain text; colour is applied after cutting and padding, so escape codes never count.
 */

export interface Column<Row> {
  readonly header: string;
  /** Plain text (its length decides the width). */
  readonly text: (row: Row) => string;
  /** Optional colouring of the text (applied after fitting). */
  readonly paint?: (text: string, row: Row) => string;
  /** May be cut to fit; `min` is the narrowest it gets. */
  readonly flex?: { readonly min: number };
  /** Dropped first when even shrinking does not fit (higher drops first); 0 never drops. */
  readonly dropOrder?: number;
  readonly align?: "left" | "right";
}

const GAP = "  ";

export function renderTable<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  width: number,
): string {
  let shown = [...columns];
  let widths = fitWidths(shown, rows, width);
  while (!widths) {
    const droppable = shown.filter((c) => (c.dropOrder ?? 0) > 0);
    if (droppable.length === 0) break;
    const drop = droppable.reduce((a, b) => ((b.dropOrder ?? 0) > (a.dropOrder ?? 0) ? b : a));
    shown = shown.filter((c) => c !== drop);
    widths = fitWidths(shown, rows, width);
  }
  const final = widths ?? shown.map((c) => natural(c, rows));
  const line = (cells: string[], plain: string[]) =>
    cells
      .map((cell, i) => {
        const pad = " ".repeat(Math.max(0, (final[i] ?? 0) - length(plain[i] ?? "")));
        return shown[i]?.align === "right" ? pad + cell : cell + pad;
      })
      .join(GAP)
      .trimEnd();
  const headers = shown.map((c) => c.header);
  const out = [line(headers, headers)];
  for (const row of rows) {
    const plain = shown.map((c, i) => cut(c.text(row), final[i] ?? 0));
    out.push(
      line(
        shown.map((c, i) => (c.paint ? c.paint(plain[i] ?? "", row) : (plain[i] ?? ""))),
        plain,
      ),
    );
  }
  return out.join("\n");
}

/** Text length in terminal cells, counting code points (ids, names and numbers are narrow). */
function length(text: string): number {
  return [...text].length;
}

function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join("")}…` : text;
}

function natural<Row>(column: Column<Row>, rows: readonly Row[]): number {
  return Math.max(length(column.header), ...rows.map((r) => length(column.text(r))));
}

/** Column widths that fit `width`, or null if even the minimums do not. */
function fitWidths<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  width: number,
): number[] | null {
  const widths = columns.map((c) => natural(c, rows));
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (columns.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      const flex = columns[i]?.flex;
      if (!flex || (widths[i] ?? 0) <= Math.max(flex.min, columns[i]?.header.length ?? 0)) continue;
      if (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0)) widest = i;
    }
    if (widest < 0) return null;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  return widths;
}
