/* The wall's alert markers (dashboard/alerts/wall.py): pulsing circles on the screen's map, as a
   MapLibre source and layers of their own next to Plotly's, so the map's figure and its patches
   are untouched. Re-attached when Plotly rebuilds its map; clicking a marker opens the alert's
   drill-down. Kept in a file so the content security policy needs no exception. */
(function () {
  "use strict";
  var SOURCE = "gcc-alerts", HALO = "gcc-alerts-halo", CORE = "gcc-alerts-core";
  var state = { points: [], map: null, timer: null, ticks: 0 };

  /* Plotly adds its layers after ours (and again after a rebuild): keep the markers on top. */
  function onTop(map) {
    var order = map.getLayersOrder ? map.getLayersOrder() : map.getStyle().layers.map(function (l) { return l.id; });
    if (order[order.length - 1] !== CORE) {
      map.moveLayer(HALO);
      map.moveLayer(CORE);
    }
  }

  function currentMap() {
    var gd = document.querySelector("#screen-map .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return sub && sub.map ? sub.map : null;
  }

  function features() {
    return {
      type: "FeatureCollection",
      features: state.points.map(function (p) {
        return {
          type: "Feature",
          geometry: { type: "Point", coordinates: [p.lon, p.lat] },
          properties: { url: p.url, kind: p.kind, size: Math.min(16, 8 + 2 * Math.log2(1 + (p.n || 1))) }
        };
      })
    };
  }

  function attach(map) {
    if (!map.isStyleLoaded || !map.getStyle()) { return false; }
    var source = map.getSource(SOURCE);
    if (source) { source.setData(features()); return true; }
    map.addSource(SOURCE, { type: "geojson", data: features() });
    map.addLayer({
      id: HALO, type: "circle", source: SOURCE,
      paint: { "circle-color": "#ff2d55", "circle-opacity": 0.4, "circle-radius": ["get", "size"], "circle-blur": 0.3 }
    });
    map.addLayer({
      id: CORE, type: "circle", source: SOURCE,
      paint: {
        "circle-color": "#ffd400", "circle-radius": ["*", 0.55, ["get", "size"]],
        "circle-stroke-color": "#ff2d55", "circle-stroke-width": 2.5
      }
    });
    map.on("click", CORE, function (e) {
      var f = e.features && e.features[0];
      if (f && f.properties.url) { window.location.assign(f.properties.url); }
    });
    map.on("mouseenter", CORE, function () { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", CORE, function () { map.getCanvas().style.cursor = ""; });
    return true;
  }

  function tick() {
    var map = currentMap();
    if (!map) { return; }
    try {
      if (map !== state.map || !map.getSource(SOURCE)) {
        if (!attach(map)) { return; }
        state.map = map;
      }
      if (map.getLayersOrder || ++state.ticks % 12 === 0) { onTop(map); }
      var phase = (Date.now() % 1600) / 1600;  /* one pulse every 1.6 s */
      map.setPaintProperty(HALO, "circle-radius", ["*", 0.8 + 2.4 * phase, ["get", "size"]]);
      map.setPaintProperty(HALO, "circle-opacity", 0.6 * (1 - phase));
    } catch (e) {
      state.map = null;  /* the style was being replaced: attach again next tick */
    }
  }

  /* For tests and the curious: how many markers the map shows now. */
  window.gccAlertMarkers = function () {
    var map = currentMap();
    return map && map.getSource(SOURCE) ? state.points.length : 0;
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    gccAlerts: {
      mark: function (points) {
        state.points = (points || []).filter(function (p) { return isFinite(p.lon) && isFinite(p.lat); });
        var map = currentMap();
        if (map && map.getSource(SOURCE)) { map.getSource(SOURCE).setData(features()); }
        if (!state.timer) { state.timer = setInterval(tick, 80); }
        return window.dash_clientside.no_update;
      }
    }
  });
})();
