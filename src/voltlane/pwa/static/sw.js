/* The driver app's service worker, one per brand host (served by voltlane.pwa.shell).
 *
 * - install: precache the offline shell (the /offline page, the hashed CSS and JS, htmx, the
 *   brand's theme, logo, icons and manifest) into a cache named after the brand and the
 *   version, so a deploy that changes any asset installs a new worker and drops the old cache;
 * - pages: network first; offline, a station page seen before, else the offline shell;
 * - the station list (/ and the station search API): the last answer is kept, so the offline
 *   shell can show it;
 * - never cached: anything but GET (payments, sign-in, starts), account, charging and payment
 *   pages (only the paths listed in CONFIG are kept), the portal and the operator API;
 * - push: shows the notification; a click opens (or focuses) the page it names.
 */
"use strict";

const CONFIG = "__VOLTLANE_SW_CONFIG__";
const PREFIX = CONFIG.brand + "-";
const SHELL = PREFIX + "shell-" + CONFIG.version;
const PAGES = PREFIX + "pages-" + CONFIG.version;
// The last station list outlives deploys: it is data, not code.
const DATA = PREFIX + "data";
const KEEP = new Set([SHELL, PAGES, DATA]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(CONFIG.precache.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names.filter((name) => name.startsWith(PREFIX) && !KEEP.has(name)).map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

const startsWithAny = (path, prefixes) => prefixes.some((prefix) => path.startsWith(prefix));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || startsWithAny(url.pathname, CONFIG.passThrough)) return;
  if (CONFIG.precache.includes(url.pathname + url.search)) {
    event.respondWith(precached(request, url));
  } else if (url.pathname.startsWith(CONFIG.stationsApi)) {
    event.respondWith(stationSearch(event));
  } else if (request.mode === "navigate") {
    event.respondWith(page(event, url));
  }
});

async function precached(request, url) {
  // A hashed URL never changes: the cache is the answer. Others (theme, logo) may change.
  if (url.searchParams.has("v")) {
    const hit = await caches.match(request, { cacheName: SHELL });
    if (hit) return hit;
  }
  try {
    return await fetch(request);
  } catch (error) {
    const hit = await caches.match(request, { cacheName: SHELL });
    if (hit) return hit;
    throw error;
  }
}

async function page(event, url) {
  const request = event.request;
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    if (url.pathname !== "/") {
      const seen = await caches.match(request, { cacheName: PAGES, ignoreVary: true });
      if (seen) return seen;
    }
    const shell = await caches.match(CONFIG.offline, { cacheName: SHELL });
    if (shell) return shell;
    throw error;
  }
  if (response.ok && response.type === "basic" && !request.headers.has("HX-Request")) {
    event.waitUntil(remember(url, response.clone()));
  }
  return response;
}

async function remember(url, response) {
  if (url.pathname === "/") {
    // The last station list, whatever its filter, under one key the offline shell reads.
    const data = await caches.open(DATA);
    await data.put(new Request("/"), response);
    // The shell in the language and name the driver sees now.
    const shell = await caches.open(SHELL);
    await shell.add(new Request(CONFIG.offline, { cache: "reload" })).catch(() => undefined);
  } else if (startsWithAny(url.pathname, CONFIG.keepPages)) {
    const pages = await caches.open(PAGES);
    await pages.put(url.pathname + url.search, response);
  }
}

async function stationSearch(event) {
  const request = event.request;
  const data = await caches.open(DATA);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      event.waitUntil(keepLast(data, request, response.clone()));
    }
    return response;
  } catch (error) {
    const last =
      (await data.match(request, { ignoreVary: true })) ||
      (await data.match(request, { ignoreVary: true, ignoreSearch: true }));
    if (last) return last;
    return new Response(JSON.stringify({ type: "about:blank", title: "Offline", status: 503 }), {
      status: 503,
      headers: { "Content-Type": "application/problem+json" },
    });
  }
}

async function keepLast(data, request, response) {
  const older = (await data.keys()).filter((key) => new URL(key.url).pathname.startsWith(CONFIG.stationsApi));
  await Promise.all(older.map((key) => data.delete(key)));
  await data.put(request, response);
}

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data.text() };
  }
  event.waitUntil(
    self.registration.showNotification(message.title || CONFIG.name, {
      body: message.body || "",
      lang: message.lang || undefined,
      tag: message.tag || undefined,
      icon: CONFIG.icon,
      badge: CONFIG.icon,
      data: { url: message.url || "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  let target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  // Only pages of this brand's app, whatever a payload says.
  if (target.origin !== self.location.origin) target = new URL("/", self.location.origin);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === target.href && "focus" in client);
      return open ? open.focus() : self.clients.openWindow(target.href);
    }),
  );
});
