/* Page readiness for screenshots (issue #10): window.gccReady() → {ready, pending}.

   ready is true only when
   - Dash has rendered the page (the pages container has content), no callback is pending and no
     lazily loaded component (dcc.Graph, AG Grid) is still a placeholder;
   - every Plotly figure has drawn (its _fullLayout and SVG exist, no draw promise outstanding);
   - every Plotly map subplot (MapLibre) has its style, sources and tiles loaded and is not moving;
   - every AG Grid has rendered rows, or shows its "no rows" overlay (legitimately empty), and
     no loading overlay;
   - web fonts are loaded (no fallback boxes for Chinese text) and images have decoded.
   `pending` names what is still missing, so a caller that times out can say why.
   The report's capture (data.reports.capture) polls this from Python with page.evaluate and
   takes the picture only after two ready answers in a row. */
(function () {
  "use strict";

  function visible(el) {
    if (!el) { return false; }
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function label(el) {
    var host = el.closest("[id]");
    return host ? "#" + host.id : el.className;
  }

  function dashPending(out) {
    var stores = window.dash_stores || (window.store ? [window.store] : []);
    if (!stores.length) { out.push("dash: renderer not started"); return; }
    stores.forEach(function (store) {
      var state = store.getState ? store.getState() : {};
      if (state.isLoading) { out.push("dash: callbacks pending"); }
      var cb = state.callbacks || {};
      ["requested", "prioritized", "blocked", "executing", "watched", "executed"].forEach(function (k) {
        if (cb[k] && cb[k].length) { out.push("dash: " + cb[k].length + " callback(s) " + k); }
      });
    });
    if (document.querySelector("._dash-loading")) { out.push("dash: app loading"); }
    var pages = document.getElementById("_pages_content");
    if (pages && !pages.children.length) { out.push("dash: page content empty"); }
  }

  function mapPending(gd, out) {
    var fl = gd._fullLayout;
    var ids = (fl._subplots && (fl._subplots.map || [])) || [];
    ids.forEach(function (id) {
      var sub = fl[id] && fl[id]._subplot;
      var map = sub && sub.map;
      var name = label(gd) + " " + id;
      if (!map) { out.push(name + ": map not created"); return; }
      if (!map.loaded()) { out.push(name + ": map not loaded"); }
      if (!map.isStyleLoaded()) { out.push(name + ": style loading"); }
      if (!map.areTilesLoaded()) { out.push(name + ": tiles loading"); }
      if (map.isMoving()) { out.push(name + ": moving"); }
      var style = map.getStyle && map.getStyle();
      Object.keys((style && style.sources) || {}).forEach(function (src) {
        try {
          if (!map.isSourceLoaded(src)) { out.push(name + ": source " + src + " loading"); }
        } catch (e) { out.push(name + ": source " + src + " missing"); }
      });
      if (!visible(map.getCanvas())) { out.push(name + ": canvas has no size"); }
      /* A polygon trace with data must have its layer added and drawn: Plotly adds it only after
         the trace's GeoJSON (a URL) has been fetched, while the map already reports "loaded". */
      (gd._fullData || []).forEach(function (trace) {
        if (trace.type !== "choroplethmap" || (trace.subplot || "map") !== id) { return; }
        if (!trace.locations || !trace.locations.length || trace.visible === false) { return; }
        var layer = "plotly-trace-layer-" + trace.uid + "-fill";
        if (!map.getLayer(layer)) { out.push(name + ": polygons not added"); return; }
        if (!map.queryRenderedFeatures({ layers: [layer] }).length) { out.push(name + ": polygons not drawn"); }
      });
    });
  }

  function lazyPending(out) {
    /* Dash's components load their code lazily (dcc.Graph fetches Plotly on first use): until
       then a graph is an empty placeholder marked "--pending", and Dash has no callback pending. */
    document.querySelectorAll("[class*='--pending'], [data-dash-is-loading='true']").forEach(function (el) {
      if (visible(el) || el.closest(".dash-graph")) { out.push(label(el) + ": component loading"); }
    });
    document.querySelectorAll(".dash-graph").forEach(function (el) {
      if (visible(el) && !el.querySelector(".js-plotly-plot")) { out.push(label(el) + ": graph not created"); }
    });
  }

  function plotlyPending(out) {
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (!visible(gd)) { return; }  /* a hidden tab's figure is not in the picture */
      if (!gd.__gccHooked && gd.on) {
        gd.__gccHooked = true;
        gd.on("plotly_afterplot", function () { gd.__gccDrawn = (gd.__gccDrawn || 0) + 1; });
      }
      if (!gd._fullLayout || !gd._fullData) { out.push(label(gd) + ": figure not drawn"); return; }
      if (!gd.querySelector(".main-svg")) { out.push(label(gd) + ": no svg yet"); }
      if (gd._promises && gd._promises.length) { out.push(label(gd) + ": drawing"); }
      if (gd._transitioning) { out.push(label(gd) + ": transition"); }
      mapPending(gd, out);
    });
  }

  function gridPending(out) {
    document.querySelectorAll(".ag-root-wrapper").forEach(function (root) {
      if (!visible(root)) { return; }
      var loading = root.querySelector(".ag-overlay-loading-wrapper, .ag-overlay-loading-center");
      if (loading && visible(loading)) { out.push(label(root) + ": table loading"); return; }
      var rows = root.querySelector(".ag-center-cols-container .ag-row, .ag-center-cols-viewport .ag-row");
      var empty = root.querySelector("[class*='ag-overlay-no-rows']");
      if (!rows && !(empty && visible(empty))) { out.push(label(root) + ": no rows rendered"); }
    });
  }

  function pagePending(out) {
    if (document.readyState !== "complete") { out.push("document: " + document.readyState); }
    if (document.fonts && document.fonts.status !== "loaded") { out.push("fonts loading"); }
    document.querySelectorAll("img").forEach(function (img) {
      if (!img.complete) { out.push("image loading: " + (img.getAttribute("src") || "").slice(0, 60)); }
    });
  }

  window.gccReady = function () {
    var pending = [];
    try {
      pagePending(pending);
      dashPending(pending);
      lazyPending(pending);
      plotlyPending(pending);
      gridPending(pending);
    } catch (e) {
      pending.push("readiness check failed: " + e);
    }
    return { ready: pending.length === 0, pending: pending };
  };
})();
