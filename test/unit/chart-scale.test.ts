// The health panel's chart ranges: sizes from zero, counters fitted, flat series still drawn.
import * as assert from 'assert';
import { chartRange, lineWidths } from '../../src/webviews/health/chartScale';

describe('health panel chart range', () => {
  const MB = 1e6;
  it('draws sizes from zero with headroom: 107 and 109 MB are nearly the same height', () => {
    const { lo, hi } = chartRange([107 * MB, 108 * MB, 109 * MB], 'zero');
    assert.strictEqual(lo, 0);
    assert.ok(Math.abs(hi - 109 * MB * 1.1) < 1);
    const height = (v: number) => (v - lo) / (hi - lo);
    assert.ok(height(109 * MB) - height(107 * MB) < 0.02, 'a 2 MB difference is under 2 % of the height');
  });
  it('fits a counter to its values (the raft index)', () => {
    assert.deepStrictEqual(chartRange([253, 260, 270], 'fit'), { lo: 253, hi: 270 });
  });
  it('gives a flat series a range so that its line is drawn', () => {
    assert.deepStrictEqual(chartRange([42, 42], 'fit'), { lo: 41, hi: 43 });
    assert.deepStrictEqual(chartRange([0, 0], 'fit'), { lo: 0, hi: 1 });
    assert.deepStrictEqual(chartRange([0, 0], 'zero'), { lo: 0, hi: 1 });
    assert.deepStrictEqual(chartRange([5 * MB, 5 * MB], 'zero'), { lo: 0, hi: 5 * MB * 1.1 });
  });
  it('ignores values that are not numbers and has a range with none', () => {
    assert.deepStrictEqual(chartRange([NaN, 10, Infinity, 20], 'fit'), { lo: 10, hi: 20 });
    assert.deepStrictEqual(chartRange([], 'zero'), { lo: 0, hi: 1 });
  });
  it('draws lines from wide to narrow so that members at the same value show every colour; a failing one at least 3 wide', () => {
    const w = lineWidths([false, false, false]);
    assert.deepStrictEqual(w, [4, 2.75, 1.5]);
    assert.ok(w[0] > w[1] && w[1] > w[2], 'each line is narrower than the one under it');
    assert.deepStrictEqual(lineWidths([false, false, true]), [4, 2.75, 3]);
    assert.deepStrictEqual(lineWidths([false]), [1.5]);
  });
});
