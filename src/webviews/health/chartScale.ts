// The vertical range of the health panel's charts (pure: unit-tested, no DOM).
//   'fit':  from the lowest to the highest value (a counter such as the raft index: what matters is
//           how the lines move against each other);
//   'zero': from 0 to the highest value plus a tenth (a size: 107 MB and 109 MB are nearly the same
//           height, not the bottom and the top of the chart).
// A flat series (every value equal) still gets a range, so that its line is drawn.
export type ChartScale = 'fit' | 'zero';

export function chartRange(values: number[], scale: ChartScale): { lo: number; hi: number } {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) return { lo: 0, hi: 1 };
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (scale === 'zero' && min >= 0) return { lo: 0, hi: max > 0 ? max * 1.1 : 1 };
  if (max === min) return { lo: Math.max(0, min - 1), hi: max + 1 };
  return { lo: min, hi: max };
}

/**
 * Line widths, one per series in drawing order: wide first, narrow last, so that members at the same
 * value (the usual case) show every colour as a striped line instead of the last one only. A failing
 * member's line is at least 3 wide (it is also dashed in the error colour).
 */
export function lineWidths(failing: boolean[]): number[] {
  return failing.map((f, i) => {
    const w = 1.5 + (failing.length - 1 - i) * 1.25;
    return f ? Math.max(3, w) : w;
  });
}
