/* The station finder in the browser: "Use my location" (asked only on a click) and a small
   tile map over the listed stations. No library: Web Mercator tiles from the brand's
   OpenStreetMap-compatible URL template, markers that are links to the station pages,
   panning by drag or arrow keys, zoom buttons. When no tile loads, the map steps aside and
   the list below it says why. */
(function () {
  "use strict";

  var TILE = 256;
  var MIN_ZOOM = 2;
  var MAX_ZOOM = 18;
  var GIVE_UP_MS = 8000;

  // -- "Use my location" ------------------------------------------------------------------
  function setUpLocate(button) {
    var form = button.closest("form");
    var status = form && form.querySelector("[data-locate-status]");
    if (!form || !("geolocation" in navigator)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (status) status.textContent = button.dataset.asking || "";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.querySelector("[data-position=lat]").value = position.coords.latitude.toFixed(5);
          form.querySelector("[data-position=lon]").value = position.coords.longitude.toFixed(5);
          if (status) status.textContent = "";
          // A whole page: the form then offers the distance filter for the new position.
          form.submit();
        },
        function (error) {
          if (!status) return;
          status.textContent = error.code === error.PERMISSION_DENIED
            ? button.dataset.denied || ""
            : button.dataset.failed || "";
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  // -- the map ------------------------------------------------------------------------------
  function worldSize(zoom) { return TILE * Math.pow(2, zoom); }

  function project(lat, lon, zoom) {
    var size = worldSize(zoom);
    var sin = Math.min(Math.max(Math.sin(lat * Math.PI / 180), -0.9999), 0.9999);
    return {
      x: (lon + 180) / 360 * size,
      y: (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * size
    };
  }

  function tileUrl(template, z, x, y) {
    return template
      .replace("{z}", z).replace("{x}", x).replace("{y}", y)
      .replace("{s}", "abc".charAt((x + y) % 3)).replace("{r}", "");
  }

  function styles(element, values) {
    for (var name in values) element.style[name] = values[name];
  }

  function readPoints(list) {
    var points = [];
    list.querySelectorAll("[data-location-id]").forEach(function (card) {
      var link = card.querySelector("a[href]");
      var lat = parseFloat(card.dataset.lat);
      var lon = parseFloat(card.dataset.lon);
      if (!link || isNaN(lat) || isNaN(lon)) return;
      var availability = card.querySelector("[data-testid=availability]");
      points.push({
        lat: lat,
        lon: lon,
        url: link.getAttribute("href"),
        label: link.textContent.trim() + (availability ? ", " + availability.textContent.trim() : ""),
        available: parseInt(card.dataset.available, 10) > 0
      });
    });
    return points;
  }

  function fitZoom(points, width, height) {
    if (points.length < 2) return 14;
    for (var zoom = 16; zoom > MIN_ZOOM; zoom--) {
      var xs = [], ys = [];
      points.forEach(function (p) { var q = project(p.lat, p.lon, zoom); xs.push(q.x); ys.push(q.y); });
      var wide = Math.max.apply(null, xs) - Math.min.apply(null, xs);
      var high = Math.max.apply(null, ys) - Math.min.apply(null, ys);
      if (wide <= width - 48 && high <= height - 64) return zoom;
    }
    return MIN_ZOOM;
  }

  function TileMap(container, points, you) {
    this.container = container;
    this.template = container.dataset.tiles;
    this.points = points;
    this.you = you;
    this.tiles = {};
    this.loaded = 0;
    this.failed = 0;
    this.settled = false;
    styles(container, { position: "relative", overflow: "hidden", touchAction: "none" });
    container.tabIndex = 0;
    this.tileLayer = document.createElement("div");
    this.markerLayer = document.createElement("div");
    [this.tileLayer, this.markerLayer].forEach(function (layer) {
      styles(layer, { position: "absolute", left: "0", top: "0", width: "100%", height: "100%" });
      container.appendChild(layer);
    });
    this.addControls();
    var shown = this.nearby(points, you);
    this.zoom = fitZoom(shown, container.clientWidth, container.clientHeight);
    var center = this.centerOf(shown);
    this.center = project(center.lat, center.lon, this.zoom);
    this.listen();
    this.render();
    var self = this;
    setTimeout(function () { if (!self.loaded) self.giveUp(); }, GIVE_UP_MS);
  }

  function metres(a, b) {
    var rad = Math.PI / 180;
    var h = Math.pow(Math.sin((b.lat - a.lat) * rad / 2), 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.pow(Math.sin((b.lon - a.lon) * rad / 2), 2);
    return 2 * 6371008.8 * Math.asin(Math.sqrt(Math.min(1, h)));
  }

  // With the driver's position: the driver and the stations around them (within 10 km, or
  // twice the nearest one's distance), not the whole list; the rest is a drag away.
  TileMap.prototype.nearby = function (points, you) {
    if (!you) return points;
    if (!points.length) return [you];
    var distances = points.map(function (p) { return metres(you, p); });
    var reach = Math.max(10000, 2 * Math.min.apply(null, distances));
    return points.filter(function (p, i) { return distances[i] <= reach; }).concat([you]);
  };

  TileMap.prototype.centerOf = function (points) {
    if (!points.length) return { lat: 51, lon: 10 };
    var lats = points.map(function (p) { return p.lat; });
    var lons = points.map(function (p) { return p.lon; });
    return {
      lat: (Math.min.apply(null, lats) + Math.max.apply(null, lats)) / 2,
      lon: (Math.min.apply(null, lons) + Math.max.apply(null, lons)) / 2
    };
  };

  TileMap.prototype.addControls = function () {
    var self = this;
    var bar = document.createElement("div");
    bar.className = "map-zoom";
    styles(bar, { position: "absolute", right: "8px", top: "8px", zIndex: "3", display: "flex", flexDirection: "column", gap: "4px" });
    [["+", 1, "zoomIn"], ["\u2212", -1, "zoomOut"]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button map-zoom-button";
      button.textContent = spec[0];
      button.setAttribute("aria-label", self.container.dataset[spec[2]] || spec[0]);
      button.addEventListener("click", function () { self.zoomBy(spec[1]); });
      bar.appendChild(button);
    });
    this.container.appendChild(bar);
    var attribution = this.container.dataset.attribution;
    if (attribution) {
      var note = document.createElement("div");
      note.className = "map-attribution";
      note.textContent = attribution;
      styles(note, { position: "absolute", right: "0", bottom: "0", zIndex: "3", fontSize: "11px", padding: "1px 4px", background: "rgba(255,255,255,.8)" });
      this.container.appendChild(note);
    }
  };

  TileMap.prototype.zoomBy = function (step) {
    var zoom = Math.min(Math.max(this.zoom + step, MIN_ZOOM), MAX_ZOOM);
    if (zoom === this.zoom) return;
    var factor = Math.pow(2, zoom - this.zoom);
    this.center = { x: this.center.x * factor, y: this.center.y * factor };
    this.zoom = zoom;
    this.render();
  };

  TileMap.prototype.panBy = function (dx, dy) {
    this.center = { x: this.center.x + dx, y: this.center.y + dy };
    this.render();
  };

  TileMap.prototype.listen = function () {
    var self = this;
    var start = null;
    var moved = false;
    this.container.addEventListener("pointerdown", function (event) {
      if (event.target.closest(".map-zoom")) return;
      start = { x: event.clientX, y: event.clientY, center: self.center };
      moved = false;
    });
    this.container.addEventListener("pointermove", function (event) {
      if (!start) return;
      var dx = event.clientX - start.x, dy = event.clientY - start.y;
      if (!moved && Math.abs(dx) + Math.abs(dy) < 6) return;
      if (!moved) self.container.setPointerCapture(event.pointerId);
      moved = true;
      self.center = { x: start.center.x - dx, y: start.center.y - dy };
      self.render();
    });
    var end = function () { start = null; };
    this.container.addEventListener("pointerup", end);
    this.container.addEventListener("pointercancel", end);
    // A drag that ends on a marker is not a tap on it.
    this.container.addEventListener("click", function (event) {
      if (moved) { event.preventDefault(); moved = false; }
    }, true);
    this.container.addEventListener("keydown", function (event) {
      var steps = { ArrowLeft: [-96, 0], ArrowRight: [96, 0], ArrowUp: [0, -96], ArrowDown: [0, 96] };
      if (event.target !== self.container) return;
      if (steps[event.key]) { self.panBy(steps[event.key][0], steps[event.key][1]); event.preventDefault(); }
      else if (event.key === "+" || event.key === "=") { self.zoomBy(1); event.preventDefault(); }
      else if (event.key === "-") { self.zoomBy(-1); event.preventDefault(); }
    });
  };

  TileMap.prototype.render = function () {
    var width = this.container.clientWidth, height = this.container.clientHeight;
    var left = this.center.x - width / 2, top = this.center.y - height / 2;
    var count = Math.pow(2, this.zoom);
    var wanted = {};
    for (var tx = Math.floor(left / TILE); tx <= Math.floor((left + width) / TILE); tx++) {
      for (var ty = Math.floor(top / TILE); ty <= Math.floor((top + height) / TILE); ty++) {
        if (ty < 0 || ty >= count) continue;
        var key = this.zoom + "/" + tx + "/" + ty;
        wanted[key] = true;
        var img = this.tiles[key] || this.addTile(key, tx, ty, count);
        styles(img, { left: tx * TILE - left + "px", top: ty * TILE - top + "px" });
      }
    }
    for (var old in this.tiles) {
      if (!wanted[old]) { this.tiles[old].remove(); delete this.tiles[old]; }
    }
    this.renderMarkers(left, top);
  };

  TileMap.prototype.addTile = function (key, tx, ty, count) {
    var self = this;
    var img = document.createElement("img");
    img.alt = "";
    img.draggable = false;
    img.decoding = "async";
    img.className = "map-tile";
    styles(img, { position: "absolute", width: TILE + "px", height: TILE + "px", userSelect: "none" });
    img.addEventListener("load", function () { self.loaded += 1; });
    img.addEventListener("error", function () {
      self.failed += 1;
      img.style.visibility = "hidden";
      if (!self.loaded && self.failed >= Object.keys(self.tiles).length) self.giveUp();
    });
    img.src = tileUrl(this.template, this.zoom, ((tx % count) + count) % count, ty);
    this.tiles[key] = img;
    this.tileLayer.appendChild(img);
    return img;
  };

  TileMap.prototype.renderMarkers = function (left, top) {
    var self = this;
    this.markerLayer.textContent = "";
    this.points.forEach(function (point) {
      var at = project(point.lat, point.lon, self.zoom);
      var marker = document.createElement("a");
      marker.href = point.url;
      marker.className = "map-marker" + (point.available ? " is-available" : "");
      marker.setAttribute("aria-label", point.label);
      marker.title = point.label;
      marker.dataset.testid = "map-marker";
      styles(marker, { position: "absolute", left: at.x - left + "px", top: at.y - top + "px", zIndex: "2" });
      self.markerLayer.appendChild(marker);
    });
    if (this.you) {
      var at = project(this.you.lat, this.you.lon, this.zoom);
      var you = document.createElement("span");
      you.className = "map-you";
      you.setAttribute("role", "img");
      you.setAttribute("aria-label", this.container.dataset.you || "");
      styles(you, { position: "absolute", left: at.x - left + "px", top: at.y - top + "px", zIndex: "1" });
      this.markerLayer.appendChild(you);
    }
  };

  TileMap.prototype.giveUp = function () {
    if (this.settled) return;
    this.settled = true;
    this.container.hidden = true;
    var note = document.querySelector("[data-map-fallback]");
    if (note) { note.textContent = this.container.dataset.failed || ""; note.hidden = false; }
  };

  function setUpMap(container) {
    var list = document.querySelector("[data-testid=finder-list]");
    if (!list || !container.dataset.tiles) return;
    var lat = parseFloat(container.dataset.lat), lon = parseFloat(container.dataset.lon);
    var you = isNaN(lat) || isNaN(lon) ? null : { lat: lat, lon: lon };
    container.hidden = false;
    // The stylesheet sizes the map; this keeps it usable should the stylesheet not load.
    if (container.clientHeight < 120) container.style.height = "60vh";
    container.tileMap = new TileMap(container, readPoints(list), you);
  }

  function start() {
    document.querySelectorAll("[data-locate]").forEach(setUpLocate);
    var map = document.getElementById("finder-map");
    if (map) setUpMap(map);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
