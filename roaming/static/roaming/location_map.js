// A location's page in the admin: a small Leaflet map with the charger's marker, for every
// element rendered by LocationAdmin.on_the_map. No build step: Leaflet comes from django-leaflet.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-charger-map]").forEach(function (element) {
    var point = [parseFloat(element.dataset.lat), parseFloat(element.dataset.lon)];
    var map = L.map(element, { scrollWheelZoom: false }).setView(point, 16);
    L.tileLayer(element.dataset.tiles, { maxZoom: 19, attribution: element.dataset.attribution }).addTo(map);
    L.marker(point, { title: element.dataset.name, alt: element.dataset.name }).addTo(map);
    element.chargerMap = map; // for tests and the curious: the map's own view of where it is
  });
});
