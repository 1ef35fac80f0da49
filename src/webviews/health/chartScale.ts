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
