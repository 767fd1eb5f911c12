/* Phone pages: submit forms with fetch (so a failed upload keeps the chosen photos), the report
   map (tap to place, +/- to zoom), GPS, photo previews and the rating form's reopen question.
   Served from our own origin; no inline script (the content security policy forbids it).
   Words come from the page (<script type="application/json" id="phone-text">, the label
   catalogue's phone.js.* in the app's locale): this file carries none of its own. */
(function () {
  "use strict";

  var TEXT = {};
  try { TEXT = JSON.parse(document.getElementById("phone-text").textContent); } catch (e) { /* keys show */ }

  // The label `key` with its {placeholders} filled from `values`.
  function word(key, values) {
    var template = TEXT[key] || key;
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }

  function detailText(body) {
    if (!body) return word("failed_retry");
    var d = body.detail;
    if (Array.isArray(d)) {
      return d.map(function (e) {
        return word("field_error", { field: (e.loc || []).join("."), message: e.msg });
      }).join(word("join"));
    }
    return d || body.error || word("failed");
  }

  function say(form, text, ok) {
    var box = form.querySelector(".message") || (form.parentNode && form.parentNode.querySelector(".message"));
    if (!box) return;
    box.textContent = text;
    box.className = "message " + (ok ? "ok" : "error");
  }

  function submitForm(form) {
    var button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    say(form, word("sending"), true);
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) throw body || { detail: word("server_said", { status: response.status }) };
        return body;
      });
    }).then(function (body) {
      var kind = form.getAttribute("data-ajax");
      if (kind === "report") {
        form.classList.add("hidden");
        document.getElementById("ticket-number").textContent = body.ticket_id;
        document.getElementById("status-link").href = body.status_url;
        document.getElementById("done-notes").textContent = (body.notices || []).join(word("join"));
        document.getElementById("done").classList.remove("hidden");
        window.scrollTo(0, 0);
      } else {
        say(form, word("sent"), true);
        window.location.reload();
      }
    }).catch(function (body) {
      say(form, detailText(body), false);
      if (button) button.disabled = false;
    });
  }

  document.querySelectorAll("form[data-ajax]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitForm(form);
    });
  });

  // Photo previews and limits (the server checks again).
  var photos = document.getElementById("photos");
  if (photos) {
    var form = photos.form;
    var maxPhotos = parseInt(form.getAttribute("data-max-photos"), 10);
    var maxBytes = parseFloat(form.getAttribute("data-max-mb")) * 1e6;
    photos.addEventListener("change", function () {
      var box = document.getElementById("previews");
      box.textContent = "";
      var files = Array.prototype.slice.call(photos.files);
      if (files.length > maxPhotos) say(form, word("too_many_photos", { n: maxPhotos }), false);
      files.forEach(function (file) {
        if (file.size > maxBytes) say(form, word("too_big", { name: file.name }), false);
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = file.name;
        box.appendChild(img);
      });
    });
  }

  // The offline map.
  var map = document.getElementById("map");
  if (map) {
    var lonInput = document.getElementById("lon");
    var latInput = document.getElementById("lat");
    var where = document.getElementById("where");
    var svg = null;
    var view = null;
    var full = null;

    function setView(v) {
      view = v;
      svg.setAttribute("viewBox", v.join(" "));
    }

    function place(lon, lat, how) {
      lonInput.value = lon.toFixed(6);
      latInput.value = lat.toFixed(6);
      where.textContent = word("place", { how: how, lon: lon.toFixed(5), lat: lat.toFixed(5) });
      if (!svg) return;
      var d = svg.dataset;
      var x = (lon - parseFloat(d.minLon)) * parseFloat(d.kx) * parseFloat(d.scale);
      var y = (parseFloat(d.maxLat) - lat) * parseFloat(d.scale);
      var pin = svg.querySelector(".pin");
      pin.setAttribute("cx", x);
      pin.setAttribute("cy", y);
      pin.setAttribute("r", Math.max(view[2], view[3]) / 80);
    }

    fetch(map.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "image/svg+xml");
        svg = document.importNode(doc.documentElement, true);
        map.appendChild(svg);
        full = svg.getAttribute("viewBox").split(" ").map(parseFloat);
        setView(full.slice());
        svg.addEventListener("click", function (event) {
          var pt = svg.createSVGPoint();
          pt.x = event.clientX;
          pt.y = event.clientY;
          var p = pt.matrixTransform(svg.getScreenCTM().inverse());
          var d = svg.dataset;
          var lon = parseFloat(d.minLon) + p.x / (parseFloat(d.kx) * parseFloat(d.scale));
          var lat = parseFloat(d.maxLat) - p.y / parseFloat(d.scale);
          place(lon, lat, word("map_pick"));
        });
      });

    map.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (!svg) return;
        var f = parseFloat(button.getAttribute("data-zoom"));
        var pin = svg.querySelector(".pin");
        var cx = parseFloat(pin.getAttribute("cx"));
        var cy = parseFloat(pin.getAttribute("cy"));
        if (cx < 0) { cx = view[0] + view[2] / 2; cy = view[1] + view[3] / 2; }
        var w = Math.min(full[2], view[2] / f);
        var h = Math.min(full[3], view[3] / f);
        setView([cx - w / 2, cy - h / 2, w, h]);
        if (lonInput.value) pin.setAttribute("r", Math.max(w, h) / 80);
      });
    });

    var gps = document.getElementById("gps");
    gps.addEventListener("click", function () {
      if (!navigator.geolocation) {
        where.textContent = word("no_geolocation");
        return;
      }
      where.textContent = word("locating");
      navigator.geolocation.getCurrentPosition(function (pos) {
        // The browser's position is WGS84 (GPS); the form says so (coord_system=wgs84).
        place(pos.coords.longitude, pos.coords.latitude, word("gps_fix"));
      }, function (err) {
        where.textContent = word("gps_failed", { error: err.message });
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // Rating: 不满意 asks whether to reopen.
  var rateForm = document.getElementById("rate-form");
  if (rateForm) {
    var box = document.getElementById("reopen-box");
    rateForm.querySelectorAll("input[name=rating]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        var unsatisfied = rateForm.querySelector("input[name=rating]:checked").value === "unsatisfied";
        box.classList.toggle("hidden", !unsatisfied);
        if (!unsatisfied) box.querySelector("input").checked = false;
      });
    });
  }
})();
