// The Evolution map (see __init__.py). Python sends the figure once per layout (built with
// the first colouring and no highlight) with every colouring's layer, then on each change
// only the colouring's name and the highlighted words' overlay. They are applied in place:
// - a highlight is layout shapes (circles, labels, trails) over the WebGL points: a relayout
//   that does not redraw the points; the trails' hover points follow in a second step;
// - a colouring restyles the points' marker (one WebGL redraw);
// - every animation frame gets the same changes, so Play and the slider keep them;
// - a figure too big to animate comes with every snapshot's positions: a snapshot switch
//   (Streamlit's slider) sends only its number, and the drawn WebGL traces are moved in
//   place (new x/y arrays, one redraw), not re-sent or re-built.
// No maths here: every piece comes built from dashboard/charts.py.
"use strict";
const gd = document.getElementById("chart");
const legendBox = document.getElementById("legend");
const CONFIG = { displaylogo: false, responsive: true };
let base = null;      // {id, frame, figure, colours (a list)}: the payload last parsed
let frames = [];      // the animation frames as last given to plotly
let shown = { id: null, colour: null, overlay: null };
let current = null;   // the snapshot on screen when the figure is not animated
let queue = Promise.resolve();
let reported;        // the figure id last told to Python (undefined: nothing yet)

function send(type, data) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
}

// plotly.py's typed arrays ({dtype, bdata}) decoded once, not at every redraw
const TYPES = { f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array,
                i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array };
function typed(spec) {
  if (!spec || typeof spec.bdata !== "string" || !TYPES[spec.dtype]) return spec;
  const raw = atob(spec.bdata), bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new TYPES[spec.dtype](bytes.buffer);
}

function parse(id, bytes) {
  const doc = JSON.parse(new TextDecoder().decode(bytes));
  for (const layer of doc.colours) {
    layer.values = layer.values.map(typed);
    layer.marker.opacity = typed(layer.marker.opacity);
  }
  doc.figure.data = doc.figure.data.filter((t) => t.meta !== "legend");  // legend: in HTML
  const p = doc.positions;
  if (p) {  // decoded once; the grey points' subsets too, so a switch only hands arrays over
    p.x = p.x.map(typed);
    p.y = p.y.map(typed);
    const under = typed(p.under);
    const subset = (all) => Float32Array.from(under, (i) => all[i]);
    p.ux = p.x.map(subset);
    p.uy = p.y.map(subset);
  }
  doc.id = id;
  return doc;
}

const index = (meta) => gd.data.findIndex((t) => t.meta === meta);
const layerOf = (n) => base.colours[n] || base.colours[0];
const pick = (layer, t) => layer.values[Math.min(t, layer.values.length - 1)];

// the snapshot on screen: the slider follows Play and clicks (plotly keeps `active` current)
function frameShown() {
  const slider = ((gd.layout || base.figure.layout).sliders || [])[0];
  if (slider && Number.isInteger(slider.active)) return slider.active;
  return current === null ? base.frame : current;
}

// a figure sent with its positions: move the drawn points to snapshot t, one update (one
// redraw) of the traces already drawn: new x/y arrays, no new traces, no re-sent figure
async function showFrame(t, layer, overlay) {
  const p = base.positions;
  const traces = [index("points"), index("under")].filter((i) => i >= 0);
  await Plotly.update(gd, {
    x: [p.x[t], p.ux[t]], y: [p.y[t], p.uy[t]],
    hovertext: [p.hover[t], undefined], "marker.color": [pick(layer, t), undefined],
  }, {
    "title.text": p.titles[t], shapes: overlay.trails.concat(overlay.frames[t] || []),
  }, traces);
  current = t;
  await new Promise((done) => requestAnimationFrame(() => done()));
  gd.dataset.frame = String(t);  // for tests: the snapshot drawn now
  mark("frame " + t);
}

function marker(layer, t) {
  return Object.assign({}, layer.marker, { color: pick(layer, t) });
}

// the frames as plotly should animate them: this colouring's values, this highlight's shapes
function framesFor(layer, overlay) {
  const points = base.figure.data.findIndex((t) => t.meta === "points");
  return (base.figure.frames || []).map((f, i) => Object.assign({}, f, {
    data: f.data.map((d, j) => j === points ? Object.assign({}, d, { marker: { color: pick(layer, i) } }) : d),
    layout: Object.assign({}, f.layout, { shapes: overlay.trails.concat(overlay.frames[i] || []) }),
  }));
}

function drawLegend(layer, overlay) {
  legendBox.replaceChildren();
  const entries = layer.legend.map(([name, colour]) => [name, colour, false])
    .concat(overlay.legend.map(([name, colour]) => [name, colour, true]));
  for (const [name, colour, dotted] of entries) {
    const item = document.createElement("span");
    const key = document.createElement("i");
    key.className = dotted ? "line" : "dot";
    key.style.setProperty("--c", colour);
    const label = document.createElement("span");
    // names arrive escaped for plotly's HTML subset; shown here as text, unescaped once
    label.textContent = new DOMParser().parseFromString(name, "text/html").body.textContent;
    item.append(key, label);
    legendBox.append(item);
  }
}

function fullFigure(layer, overlay) {
  const data = base.figure.data.map((t) => (t.meta === "points" ? Object.assign({}, t, { marker: marker(layer, base.frame) })
                                            : t.meta === "trails" ? overlay.hover : t));
  const layout = Object.assign({}, base.figure.layout, {
    shapes: overlay.trails.concat(overlay.frames[base.frame] || []),
  });
  return { data: data, layout: layout, frames: frames, config: CONFIG };
}

async function apply(args) {
  const fresh = !base || base.id !== args.figure_id;
  if (fresh && !args.figure) {  // Python believes this page has the figure: ask for it
    report(null);
    return;
  }
  if (fresh) base = parse(args.figure_id, args.figure);
  const layer = layerOf(args.colour);
  const overlay = JSON.parse(args.overlay);
  frames = framesFor(layer, overlay);
  if (fresh) {
    current = null;
    // a new figure is drawn anew: Plotly.react kept the previous figure's points when a
    // figure with animation frames gave way to one without (the scope switch to all words)
    await Plotly.newPlot(gd, fullFigure(layer, overlay));
  } else if (args.overlay !== shown.overlay) {  // shapes: no WebGL redraw
    await Plotly.addFrames(gd, frames);
    await Plotly.relayout(gd, { shapes: overlay.trails.concat(overlay.frames[frameShown()] || []) });
  }
  if (!fresh && args.colour !== shown.colour) {
    await Plotly.addFrames(gd, frames);
    await Plotly.restyle(gd, { marker: [marker(layer, frameShown())] }, [index("points")]);
  }
  if (base.positions) {
    const n = base.positions.x.length;
    const want = ((Number(args.frame) % n) + n) % n;
    if (want !== frameShown() || (fresh && want !== base.frame)) await showFrame(want, layer, overlay);
  }
  drawLegend(layer, overlay);
  mark("drawn");
  const before = shown.overlay;
  shown = { id: base.id, colour: args.colour, overlay: args.overlay };
  gd.dataset.colour = String(args.colour);  // for tests: the colouring drawn now
  gd.dataset.frame = String(frameShown());
  report(base.id);
  if (!fresh && args.overlay !== before) {  // the trails' hover points, after the picture
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
    const h = overlay.hover;
    await Plotly.restyle(gd, { x: [h.x], y: [h.y], hovertext: [h.hovertext] }, [index("trails")]);
  }
}

function report(id) {
  if (id !== reported) {
    reported = id;
    send("streamlit:setComponentValue", { value: id, dataType: "json" });
  }
  const height = Math.ceil(document.body.scrollHeight);
  if (document.body.dataset.height !== String(height)) {
    document.body.dataset.height = String(height);
    send("streamlit:setFrameHeight", { height: height });
  }
}

// for tests and timings: when each change arrived and when it was drawn (epoch ms)
window.evolutionMarks = [];
const mark = (what) => window.evolutionMarks.push([what, Date.now()]);

window.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "streamlit:render") return;
  const args = event.data.args;
  mark(args.figure ? "figure arrived" : "change arrived");
  queue = queue.then(() => apply(args)).catch((e) => console.error("evolution_chart:", e));
});
send("streamlit:componentReady", { apiVersion: 1 });
