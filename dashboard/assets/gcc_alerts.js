/* The wall's alert markers (dashboard/alerts/wall.py): pulsing circles over the screen's map, as
   HTML elements in an overlay of the map's container, placed with map.project() whenever the map
   moves. The pulse is a CSS animation (assets/gcc_alerts.css): the map itself is never repainted
   for it, so a software-rendered wall spends nothing on it and the map stays "loaded" and "idle"
   (the readiness signal, assets/gcc_ready.js, and the report's captures depend on that). The
   map's figure and its patches are untouched. Re-attached when Plotly rebuilds its map; clicking a
   marker opens the alert's drill-down. Kept in a file so the content security policy needs no
   exception. */
(function () {
  "use strict";
  var state = { points: [], map: null, overlay: null, timer: null };

  function currentMap() {
    var gd = document.querySelector("#screen-map .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return sub && sub.map ? sub.map : null;
  }

  function size(p) { return Math.min(16, 8 + 2 * Math.log2(1 + (p.n || 1))); }

  function draw() {
    var map = state.map, overlay = state.overlay;
    if (!map || !overlay) { return; }
    while (overlay.children.length > state.points.length) { overlay.removeChild(overlay.lastChild); }
    while (overlay.children.length < state.points.length) {
      var marker = document.createElement("a");
      marker.className = "gcc-alert-marker";
      marker.appendChild(document.createElement("span"));
      overlay.appendChild(marker);
    }
    state.points.forEach(function (p, i) {
      var marker = overlay.children[i], at = map.project([p.lon, p.lat]), d = 2 * size(p);
      marker.className = "gcc-alert-marker gcc-alert-" + (p.kind || "surge");
      marker.style.width = marker.style.height = d + "px";
      marker.style.transform = "translate(" + (at.x - d / 2) + "px," + (at.y - d / 2) + "px)";
      if (p.url) { marker.href = p.url; } else { marker.removeAttribute("href"); }
    });
  }

  function attach(map) {
    var container = map.getContainer();
    var overlay = container.querySelector(".gcc-alert-overlay");
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.className = "gcc-alert-overlay";
      container.appendChild(overlay);
    }
    state.map = map;
    state.overlay = overlay;
    map.on("move", draw);
    map.on("resize", draw);
    draw();
  }

  /* Plotly may replace its map (a new figure layout): look for it once a second. */
  function watch() {
    var map = currentMap();
    if (map && map !== state.map) { attach(map); }
  }

  /* For tests and the curious: how many markers the map shows now. */
  window.gccAlertMarkers = function () {
    return state.overlay && state.map === currentMap() ? state.overlay.children.length : 0;
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    gccAlerts: {
      mark: function (points) {
        state.points = (points || []).filter(function (p) { return isFinite(p.lon) && isFinite(p.lat); });
        watch();
        draw();
        if (!state.timer) { state.timer = setInterval(watch, 1000); }
        return window.dash_clientside.no_update;
      }
    }
  });
})();
