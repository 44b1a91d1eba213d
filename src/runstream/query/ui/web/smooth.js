// Smoothing of a metric's values for display (the raw line stays faint behind).
// Values are numbers or null (a gap: NaN, ±Inf, or not positive on a log axis);
// gaps stay gaps and do not reset the smoothing.

// TensorBoard's exponential moving average, debiased so the line starts at the
// first value instead of at 0. ``weight`` in [0, 1): 0 is no smoothing.
export function ema(ys, weight) {
  const out = new Array(ys.length);
  let last = 0, n = 0;
  for (let i = 0; i < ys.length; i += 1) {
    const y = ys[i];
    if (y === null) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * y;
    n += 1;
    out[i] = weight > 0 ? last / (1 - Math.pow(weight, n)) : y;
  }
  return out;
}

// Mean of the last ``window`` values (fewer at the start), skipping gaps.
export function runningMean(ys, window) {
  const out = new Array(ys.length);
  const held = [];
  let sum = 0, head = 0;
  for (let i = 0; i < ys.length; i += 1) {
    const y = ys[i];
    if (y === null) { out[i] = null; continue; }
    held.push(y);
    sum += y;
    if (held.length - head > window) { sum -= held[head]; head += 1; }
    out[i] = sum / (held.length - head);
  }
  return out;
}

// ``kind``: "none" | "ema" | "mean"; ``amount``: the EMA weight or the window.
export function smooth(ys, kind, amount) {
  if (kind === "ema") { return ema(ys, Math.min(Math.max(amount, 0), 0.999)); }
  if (kind === "mean") { return runningMean(ys, Math.max(1, Math.round(amount))); }
  return ys;
}
