/* Small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Installable app: register the service worker (served from the site root).
  var swUrl = document.body && document.body.dataset.swUrl;
  if (swUrl && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(swUrl, { scope: "/" }).catch(function () {});
  }

  // Close the menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // On wide screens the search filters start unfolded.
  function unfoldFilters() {
    if (window.matchMedia("(min-width: 900px)").matches) {
      document.querySelectorAll("details.filters").forEach(function (d) { d.setAttribute("open", ""); });
    }
  }
  document.addEventListener("DOMContentLoaded", unfoldFilters);

  // Position buttons need JavaScript and geolocation: they start hidden and show here.
  document.addEventListener("DOMContentLoaded", function () {
    if (!("geolocation" in navigator)) return;
    document.querySelectorAll("[data-geolocate][hidden]").forEach(function (b) { b.hidden = false; });
  });

  // "Use my position" buttons: fill the hidden lat/lng inputs of their form.
  // Markup: <button type="button" data-geolocate data-status="#id">…</button>
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-geolocate]");
    if (!button) return;
    var form = button.form || button.closest("form");
    var status = button.dataset.status ? document.querySelector(button.dataset.status) : null;
    function say(text) { if (status) status.textContent = text; }
    if (!("geolocation" in navigator)) { say(button.dataset.unsupported || "Geolocation is not available."); return; }
    say(button.dataset.waiting || "Locating…");
    navigator.geolocation.getCurrentPosition(function (position) {
      form.querySelector("[name=lat]").value = position.coords.latitude.toFixed(6);
      form.querySelector("[name=lng]").value = position.coords.longitude.toFixed(6);
      var town = form.querySelector("[name=town]");
      if (town) town.value = "";
      say(button.dataset.done || "Position found.");
      if (button.dataset.submit !== undefined) form.requestSubmit ? form.requestSubmit() : form.submit();
    }, function () {
      say(button.dataset.denied || "We could not get your position. Pick a town instead.");
    }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
  });

  // Confirm destructive actions: <form data-confirm="Delete this listing?">
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
