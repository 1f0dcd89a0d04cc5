/* Web push for the driver app.
 *
 * subscribePush({chargeRequest, accessKey}) asks for permission, so call it from a click,
 * never on page load; subscribes this browser with the brand's VAPID key and registers the
 * subscription: for the signed-in driver's account, or for one charge request (a guest's,
 * proven by the secret cookie of its live screen, or by accessKey).
 * It resolves to {ok: true} or {ok: false, reason}: "unsupported", "denied", "unavailable"
 * (no key on the server) or "rejected" (the server refused; `status` says why).
 * unsubscribePush() removes this browser's subscription.
 *
 * A button can use it without script of its own:
 *   <button type="button" data-push-subscribe data-charge-request="ID">...</button>
 * It is disabled while subscribing and fires "push:done" with the result as its detail.
 */
(function () {
  "use strict";

  var API = "/api/app/v1/push-subscriptions";

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (error) {
      return "";
    }
  }

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(buffer, bytes) {
    if (!buffer) return false;
    var held = new Uint8Array(buffer);
    if (held.length !== bytes.length) return false;
    for (var i = 0; i < held.length; i++) if (held[i] !== bytes[i]) return false;
    return true;
  }

  function send(method, body, url) {
    return fetch(url || API, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
  }

  async function subscribePush(options) {
    options = options || {};
    if (!supported()) return { ok: false, reason: "unsupported" };
    var permission = await Notification.requestPermission();
    if (permission !== "granted") return { ok: false, reason: "denied" };
    var keyResponse = await fetch(API + "/key", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!keyResponse.ok) return { ok: false, reason: "unavailable", status: keyResponse.status };
    var key = keyBytes((await keyResponse.json()).public_key);
    var registration = await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
      // Made with another key (the server's key changed): push services would refuse it.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    var body = subscription.toJSON();
    var url = API;
    if (options.chargeRequest) {
      // The charge's own pages receive the guest's secret cookie.
      url = "/charge/live/" + encodeURIComponent(options.chargeRequest) + "/push-subscriptions";
      if (options.accessKey) body.access_key = options.accessKey;
    }
    var response = await send("POST", body, url);
    return response.ok ? { ok: true } : { ok: false, reason: "rejected", status: response.status };
  }

  async function unsubscribePush() {
    if (!supported()) return { ok: false, reason: "unsupported" };
    var registration = await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.getSubscription();
    if (!subscription) return { ok: true };
    var response = await send("DELETE", { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
    return response.ok || response.status === 404 ? { ok: true } : { ok: false, reason: "rejected", status: response.status };
  }

  window.subscribePush = subscribePush;
  window.unsubscribePush = unsubscribePush;

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-push-subscribe]");
    if (!button || button.disabled) return;
    button.disabled = true;
    subscribePush({ chargeRequest: button.dataset.chargeRequest, accessKey: button.dataset.accessKey })
      .catch(function (error) {
        return { ok: false, reason: "unavailable", error: String(error) };
      })
      .then(function (result) {
        button.disabled = result.ok;
        button.dispatchEvent(new CustomEvent("push:done", { bubbles: true, detail: result }));
      });
  });
})();
