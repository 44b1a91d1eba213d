// A line chart drawn by hand on a canvas: several series, linear axes, hover readout.
// Values arrive as numbers or the strings "NaN", "Infinity", "-Infinity" (JSON has
// no non-finite numbers); those points are skipped so a line breaks around them.

export const PALETTE = ["#2f5bd3", "#d3452f", "#2f9e5b", "#9b3fd3", "#d39b2f", "#2fa9d3", "#6b6b6b", "#d32f8a"];

const drawn = new Set();  // canvases on the page, redrawn when the window resizes

function finite(v) {
  return typeof v === "number" && Number.isFinite(v);
}

function niceTicks(lo, hi, count) {
  if (lo === hi) { return [lo]; }
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) { ticks.push(t); }
  return ticks;
}

function fmt(v) {
  if (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)) { return v.toExponential(2); }
  return String(Math.round(v * 1e4) / 1e4);
}

function bounds(series) {
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity, points = 0;
  for (const s of series) {
    s.xs.forEach((x, i) => {
      if (!finite(s.ys[i])) { return; }
      points += 1;
      xmin = Math.min(xmin, x); xmax = Math.max(xmax, x);
      ymin = Math.min(ymin, s.ys[i]); ymax = Math.max(ymax, s.ys[i]);
    });
  }
  // A single x or y value still needs a range: centre it.
  if (xmin === xmax) { xmin -= 1; xmax += 1; }
  if (ymin === ymax) { const d = Math.abs(ymin) * 0.1 || 0.5; ymin -= d; ymax += d; }
  return { xmin, xmax, ymin, ymax, points };
}

// Draw ``series`` ([{label, xs: [number], ys: [number|string], color?}]) on ``canvas``.
// The number of finite points drawn is left in ``canvas.dataset.points``.
export function drawChart(canvas, series, xLabel) {
  canvas.chartArgs = [series, xLabel];
  drawn.add(canvas);
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  const pad = { left: 64, right: 16, top: 12, bottom: 36 };
  const { xmin, xmax, ymin, ymax, points } = bounds(series);
  canvas.dataset.points = String(points);
  if (!points) {
    ctx.fillStyle = "#778";
    ctx.fillText("no finite values to draw", pad.left, pad.top + 20);
    return;
  }
  const sx = (x) => pad.left + (x - xmin) / (xmax - xmin) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - (y - ymin) / (ymax - ymin) * (height - pad.top - pad.bottom);
  ctx.strokeStyle = "#e1e5eb";
  ctx.fillStyle = "#556";
  ctx.lineWidth = 1;
  for (const t of niceTicks(ymin, ymax, 5)) {
    ctx.beginPath(); ctx.moveTo(pad.left, sy(t)); ctx.lineTo(width - pad.right, sy(t)); ctx.stroke();
    ctx.fillText(fmt(t), 4, sy(t) + 4);
  }
  for (const t of niceTicks(xmin, xmax, 6)) {
    ctx.beginPath(); ctx.moveTo(sx(t), pad.top); ctx.lineTo(sx(t), height - pad.bottom); ctx.stroke();
    ctx.fillText(fmt(t), sx(t) - 12, height - pad.bottom + 14);
  }
  ctx.fillText(xLabel, width / 2 - 12, height - 6);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.color || PALETTE[k % PALETTE.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    s.xs.forEach((x, i) => {
      const y = s.ys[i];
      if (!finite(y)) { drawing = false; return; }
      if (drawing) { ctx.lineTo(sx(x), sy(y)); } else { ctx.moveTo(sx(x), sy(y)); drawing = true; }
    });
    ctx.stroke();
    if (s.xs.length <= 50) {  // few points: mark each, a lone point has no line
      ctx.fillStyle = ctx.strokeStyle;
      s.xs.forEach((x, i) => {
        if (finite(s.ys[i])) { ctx.beginPath(); ctx.arc(sx(x), sy(s.ys[i]), 3, 0, 2 * Math.PI); ctx.fill(); }
      });
    }
  });
  canvas.onmousemove = (ev) => {
    const rect = canvas.getBoundingClientRect();
    const x = xmin + (ev.clientX - rect.left - pad.left) / (width - pad.left - pad.right) * (xmax - xmin);
    const parts = series.map((s) => {
      let best = -1;
      s.xs.forEach((xi, i) => { if (best < 0 || Math.abs(xi - x) < Math.abs(s.xs[best] - x)) { best = i; } });
      return best < 0 ? "" : `${s.label}: ${s.xs[best]} → ${s.ys[best]}`;
    });
    canvas.title = parts.join("\n");
  };
}

let pending = 0;
window.addEventListener("resize", () => {
  clearTimeout(pending);
  pending = setTimeout(() => {
    for (const canvas of [...drawn]) {
      if (!canvas.isConnected) { drawn.delete(canvas); continue; }
      drawChart(canvas, ...canvas.chartArgs);
    }
  }, 150);
});
