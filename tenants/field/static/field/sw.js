// The field app's service worker (FIELD, above, is written by the server: the shell's address,
// its fingerprinted assets, and the addresses never to keep). The shell and its assets are kept
// so the app opens without signal; nothing personal is ever put in the cache: the shell holds
// none, and the key, the reference data, uploads and sync always go to the network.
"use strict";
var CACHE = "slrt-field-" + FIELD.assets.map(function (a) { return a.split(".").slice(-2, -1)[0]; }).join("-");

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(FIELD.assets).then(function () {
        return fetch(FIELD.shell, { credentials: "same-origin" }).then(function (resp) {
          if (resp.ok && !resp.redirected) return cache.put(FIELD.shell, resp);
        });
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("slrt-field-") === 0 && n !== CACHE;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function shellFirstFromNetwork(request) {
  return fetch(request).then(function (resp) {
    // A signed-out visit is sent to sign in: that answer is passed on, never kept.
    if (resp.ok && !resp.redirected) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (cache) { cache.put(FIELD.shell, copy); });
    }
    return resp;
  }).catch(function () {
    return caches.match(FIELD.shell).then(function (kept) { return kept || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (FIELD.never.indexOf(url.pathname) >= 0 || url.pathname.indexOf(FIELD.shell + "uploads") === 0) return;
  if (url.pathname === FIELD.shell && request.mode === "navigate") {
    event.respondWith(shellFirstFromNetwork(request));
    return;
  }
  if (FIELD.assets.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(url.pathname).then(function (kept) { return kept || fetch(request); }));
  }
});
