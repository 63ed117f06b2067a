/**
 * A Chart.js bar chart on a canvas, with only the parts the page uses registered (tree-shaken).
 * Chart.js sets sizes through the CSSOM, which the page's CSP allows (no inline style attributes).
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartData,
  type ChartOptions,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface BarChartProps {
  readonly data: ChartData<"bar">;
  readonly options?: ChartOptions<"bar">;
  /** A click on a bar: its dataset and its index on the category axis. */
  readonly onBarClick?: (datasetIndex: number, index: number) => void;
  readonly label: string;
  readonly testId: string;
}

export function BarChart({ data, options, onBarClick, label, testId }: BarChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);
  const click = useRef(onBarClick);
  click.current = onBarClick;

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        onClick: (event, _elements, instance) => {
          const [hit] = instance.getElementsAtEventForMode(
            event as unknown as Event,
            "nearest",
            { intersect: true },
            false,
          );
          if (hit && click.current) click.current(hit.datasetIndex, hit.index);
        },
        onHover: (event, elements) => {
          const target = event.native?.target as HTMLElement | undefined;
          if (target) target.style.cursor = elements.length > 0 && click.current ? "pointer" : "default";
        },
        ...options,
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, [data, options]);

  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testId} />
    </div>
  );
}
