/* Browser-side callbacks of the big screen (registered with ClientsideFunction("gcc", ...)).
   Kept in a file, not inline, so the content security policy needs no exception for them. */
(function () {
  "use strict";
  var noUpdate = function () { return window.dash_clientside.no_update; };

  function plotlyMap(graphId) {
    var gd = document.querySelector("#" + graphId + " .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return sub && sub.map ? sub.map : null;
  }

  function fitBounds(graphId, bounds, animate, attempt) {
    if (!bounds) { return; }
    var map = plotlyMap(graphId);
    if (!map) {
      if ((attempt || 0) < 60) {
        setTimeout(function () { fitBounds(graphId, bounds, animate, (attempt || 0) + 1); }, 250);
      }
      return;
    }
    var box = [[bounds[0], bounds[1]], [bounds[2], bounds[3]]];
    var pad = Math.round(Math.min(map.getContainer().clientWidth, map.getContainer().clientHeight) * 0.05);
    map.fitBounds(box, animate ? { padding: pad, duration: 2500 } : { padding: pad, animate: false });
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  /* A historical view (?as_of= / ?week=, issue #10) stays historical when a click opens another page. */
  function keepMoment(href) {
    var here = new URLSearchParams(window.location.search);
    var kept = new URLSearchParams();
    ["as_of", "week"].forEach(function (k) { if (here.get(k)) { kept.set(k, here.get(k)); } });
    var qs = kept.toString();
    return qs ? href + (href.indexOf("?") >= 0 ? "&" : "?") + qs : href;
  }
  window.gccKeepMoment = keepMoment;

  /* The wall is laid out for a 1920x1080 CSS viewport. A 4K screen should run the browser at a
     device scale factor of 2 (sharp, nothing to do here); at a factor of 1 the layout is zoomed
     up as a whole so the numbers keep their size relative to the wall. */
  function fitWall(root) {
    var scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    var zoom = scale >= 1.25 ? scale : 1;
    if (root.__gccZoom === zoom) { return; }
    root.__gccZoom = zoom;
    root.style.zoom = zoom === 1 ? "" : String(zoom);
    root.style.width = zoom === 1 ? "" : (100 / zoom) + "vw";
    root.style.height = zoom === 1 ? "" : (100 / zoom) + "vh";
    window.dispatchEvent(new Event("resize"));  /* plots and the map re-measure their boxes */
  }

  function clockText(config) {
    var now = new Date();
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-US", {
        timeZone: config.tz, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
      }).formatToParts(now).forEach(function (p) { parts[p.type] = p.value; });
    } catch (e) {
      parts = {
        year: now.getFullYear(), month: pad2(now.getMonth() + 1), day: pad2(now.getDate()),
        hour: pad2(now.getHours()), minute: pad2(now.getMinutes()), second: pad2(now.getSeconds()),
        weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][now.getDay()]
      };
    }
    var index = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday);
    var weekday = index >= 0 && config.weekdays ? config.weekdays[index] : "";
    return parts.year + "-" + parts.month + "-" + parts.day + "  " + weekday + "  " +
      parts.hour + ":" + parts.minute + ":" + parts.second;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    gcc: {
      /* Every second: the clock, and whether the data is stale. The server sends how old the
         data was when it read it (`age`) and a serial per refresh; the age now is that plus the
         time since the serial last changed, measured with the browser's own clock. */
      tick: function (n, asof, config) {
        config = config || {};
        var state = window.__gccAsof || (window.__gccAsof = { serial: null, at: Date.now(), age: null });
        if (asof && asof.serial !== state.serial) {
          state.serial = asof.serial;
          state.at = Date.now();
          state.age = asof.age;
        }
        var age = state.age === null || state.age === undefined ? null : state.age + (Date.now() - state.at) / 1000;
        var stale = age === null || age > (config.staleAfter || 30);
        var root = document.getElementById("screen");
        if (root) {
          root.classList.toggle("is-stale", stale);
          fitWall(root);
        }
        return [clockText(config), (asof && asof.text) || "--:--:--", stale ? "stale-badge" : "stale-badge is-hidden"];
      },

      openGrid: function (clickData) {
        var points = (clickData && clickData.points) || [];
        for (var i = 0; i < points.length; i++) {
          if (points[i].location) {
            // At city zoom the map shows streets (trace meta "street"), zoomed in the grids.
            var level = (points[i].data && points[i].data.meta === "street") ? "/street/" : "/grid/";
            window.location.assign(keepMoment(level + encodeURIComponent(points[i].location)));
            break;
          }
        }
        return noUpdate();
      },

      /* Fit a map to its bounds at its real size (the server guessed the size of the box). */
      fitMap: function (view) {
        if (view && view.bounds) { fitBounds(view.graph || "screen-map", view.bounds, false, 0); }
        return noUpdate();
      },

      /* ?rotate=N: the next metric each step; odd steps zoom to the next community, even steps
         back to the whole area. The zoom goes through the server's figure (a patch of its
         center and zoom), so later refreshes keep it. */
      rotate: function (n, step, view, options, config) {
        var metrics = (options || []).map(function (o) { return o.value; });
        var next = (step || 0) + 1;
        var metric = metrics.length ? metrics[next % metrics.length] : noUpdate();
        var focusText = "";
        var bounds = null;
        var focus = (view && view.focus) || [];
        if (focus.length && next % 2 === 1) {
          var f = focus[Math.floor(next / 2) % focus.length];
          bounds = f.bounds;
          focusText = (config && config.focusLabel ? config.focusLabel : "{name}").replace("{name}", f.name);
        }
        return [metric, focusText, bounds, next];
      }
    }
  });
})();

/* Drill-down pages: filters in the URL, clicks on the region map. */
(function () {
  "use strict";
  var ns = window.dash_clientside.gcc;
  ns.syncQuery = function (period, category, status) {
    var params = new URLSearchParams(window.location.search);
    [["period", period], ["category", category], ["status", status]].forEach(function (kv) {
      if (kv[1]) { params.set(kv[0], kv[1]); } else { params.delete(kv[0]); }
    });
    var qs = params.toString();
    window.history.replaceState(window.history.state, "", window.location.pathname + (qs ? "?" + qs : ""));
    return window.dash_clientside.no_update;
  };
  ns.openFromRegionMap = function (clickData) {
    var p = clickData && clickData.points && clickData.points[0];
    if (!p) { return window.dash_clientside.no_update; }
    if (p.location) {
      if (window.location.pathname !== "/grid/" + p.location) {
        window.location.assign((window.gccKeepMoment || String)("/grid/" + encodeURIComponent(p.location)));
      }
    } else if (typeof p.customdata === "number") {
      window.location.assign("/ticket/" + p.customdata);
    }
    return window.dash_clientside.no_update;
  };
})();
