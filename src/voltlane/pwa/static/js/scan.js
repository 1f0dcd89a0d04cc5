/* Scanning a charger's QR code in the app, where the browser reads QR codes itself
 * (BarcodeDetector). Elsewhere the scan button stays hidden: the code can be typed, and the
 * phone's own camera app opens the QR code's URL (https://<brand host>/charge/<code>).
 *
 * Markup (pwa/charge/index.html): [data-scan] holds [data-scan-start], [data-scan-view]
 * with [data-scan-video], [data-scan-status] (its data-text-* are the sentences shown) and
 * [data-scan-stop].
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-scan]");
  if (!root || !("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var view = root.querySelector("[data-scan-view]");
  var video = root.querySelector("[data-scan-video]");
  var status = root.querySelector("[data-scan-status]");
  var startButton = root.querySelector("[data-scan-start]");
  var stopButton = root.querySelector("[data-scan-stop]");
  var stream = null;
  var timer = null;
  var detector = null;

  function say(name) {
    status.textContent = status.getAttribute("data-text-" + name) || "";
  }

  /* Where a QR code's text leads: a charger URL of any host opens that charging point on
     this brand's host (never another site); any other text is tried as a typed code. */
  function target(text) {
    var value = (text || "").trim();
    if (!value) return null;
    try {
      var url = new URL(value);
      var match = url.pathname.match(/^\/charge\/([^/?#]+)\/?$/);
      if (match && match[1] !== "live") return "/charge/" + match[1];
      return null;
    } catch (error) {
      return "/charge?code=" + encodeURIComponent(value);
    }
  }

  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    view.hidden = true;
    startButton.hidden = false;
  }

  function look() {
    detector.detect(video).then(function (codes) {
      for (var i = 0; i < codes.length; i++) {
        var path = target(codes[i].rawValue);
        if (path) {
          stop();
          window.location.assign(path);
          return;
        }
        say("foreign");
      }
      timer = setTimeout(look, 250);
    }).catch(function () {
      timer = setTimeout(look, 500);
    });
  }

  function start() {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        view.hidden = false;
        startButton.hidden = true;
        say("looking");
        return video.play();
      })
      .then(function () {
        look();
        stopButton.focus();
      })
      .catch(function () {
        stop();
        view.hidden = false;
        say("denied");
      });
  }

  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") < 0) return;
    detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    root.hidden = false;
    startButton.addEventListener("click", start);
    stopButton.addEventListener("click", stop);
    window.addEventListener("pagehide", stop);
  }).catch(function () {});
})();
