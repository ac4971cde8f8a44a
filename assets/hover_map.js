// Hover thumbnails for a Plotly map drawn by st.plotly_chart (Streamlit custom component v2).
// Python renders the sprite sheets as hidden st.image elements (served and cached by Streamlit's media
// files); this script finds the chart's graph div and, on plotly_hover, draws the hovered point's tile.
// customdata >= 0: a data point (image + its reconstruction); customdata < 0: grid cell -(g + 1) (decoded).

const images = {};

function load(url) {
  if (!images[url]) {
    images[url] = new Image();
    images[url].src = url;
  }
  return images[url];
}

function atlasUrls(key) {
  return Array.from(document.querySelectorAll(".st-key-" + key + " img")).map((img) => img.src);
}

function tip() {
  let el = document.getElementById("ll-hover-tip");
  if (!el) {
    el = document.createElement("div");
    el.id = "ll-hover-tip";
    el.style.cssText =
      "position:fixed;z-index:100000;pointer-events:none;display:none;background:#fff;" +
      "border:1px solid #bbb;border-radius:6px;padding:6px;box-shadow:0 2px 8px rgba(0,0,0,.25);" +
      "font:12px sans-serif;color:#222;text-align:center";
    el.innerHTML =
      '<div style="display:flex;gap:6px"><figure style="margin:0"><canvas id="ll-tip-a"></canvas>' +
      '<figcaption id="ll-tip-a-cap"></figcaption></figure><figure id="ll-tip-b-fig" style="margin:0">' +
      '<canvas id="ll-tip-b"></canvas><figcaption>reconstruction</figcaption></figure></div>' +
      '<div id="ll-tip-text" style="margin-top:4px"></div>';
    document.body.appendChild(el);
  }
  return el;
}

function drawTile(canvas, atlasKey, index, geometry, size) {
  const urls = atlasUrls(atlasKey);
  const chunk = Math.floor(index / geometry.per_chunk);
  if (chunk >= urls.length) return false;
  const j = index % geometry.per_chunk;
  const sx = (j % geometry.per_row) * geometry.tile_w;
  const sy = Math.floor(j / geometry.per_row) * geometry.tile_h;
  canvas.width = size;
  canvas.height = Math.round((size * geometry.tile_h) / geometry.tile_w);
  const draw = (img) => {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, sx, sy, geometry.tile_w, geometry.tile_h, 0, 0, canvas.width, canvas.height);
  };
  const img = load(urls[chunk]);
  if (img.complete && img.naturalWidth) draw(img);
  else img.addEventListener("load", () => draw(img), { once: true });
  return true;
}

function show(gd, ev) {
  const cfg = window.__llHover;
  if (!cfg || !ev.points || !ev.points.length) return;
  // A new map can be hovered before its sprite sheets arrive: never show another map's images.
  if (String(gd.layout.uirevision) !== cfg.map_id) return hide();
  const point = ev.points[0];
  let index = point.customdata;
  if (Array.isArray(index)) index = index[0];
  if (typeof index !== "number") return;
  const el = tip();
  const a = el.querySelector("#ll-tip-a");
  const bFig = el.querySelector("#ll-tip-b-fig");
  let ok;
  if (index >= 0) {
    ok = index < cfg.images.count && drawTile(a, cfg.keys.images, index, cfg.images, cfg.size);
    bFig.style.display = ok && drawTile(el.querySelector("#ll-tip-b"), cfg.keys.recon, index, cfg.images, cfg.size) ? "" : "none";
    el.querySelector("#ll-tip-a-cap").textContent = "image";
    const label = cfg.labels && cfg.labels[index] !== undefined ? " · " + cfg.labels[index] : "";
    el.querySelector("#ll-tip-text").textContent = "#" + index + label;
  } else {
    ok = drawTile(a, cfg.keys.grid, -index - 1, cfg.grid, cfg.size);
    bFig.style.display = "none";
    el.querySelector("#ll-tip-a-cap").textContent = "decoded here";
    el.querySelector("#ll-tip-text").textContent = "click to keep it";
  }
  if (!ok) return hide();
  const x = ev.event ? ev.event.clientX : 0;
  const y = ev.event ? ev.event.clientY : 0;
  el.style.left = Math.min(x + 18, window.innerWidth - 2.6 * cfg.size) + "px";
  el.style.top = Math.max(8, y - cfg.size - 30) + "px";
  el.style.display = "block";
}

function hide() {
  const el = document.getElementById("ll-hover-tip");
  if (el) el.style.display = "none";
}

function bind() {
  const cfg = window.__llHover;
  if (!cfg) return;
  const gd = document.querySelector(".st-key-" + cfg.keys.map + " .js-plotly-plot");
  if (!gd || typeof gd.on !== "function" || gd.__llBound) return;
  gd.__llBound = true;
  gd.on("plotly_hover", (ev) => show(gd, ev));
  gd.on("plotly_unhover", hide);
  gd.addEventListener("mouseleave", hide);
}

export default function (component) {
  window.__llHover = component.data;
  if (!window.__llHoverTimer) window.__llHoverTimer = setInterval(bind, 300);
  bind();
  return () => hide();
}
