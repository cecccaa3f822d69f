// Tooltips for anything with data-tip, and neighbourhood highlighting in the party network.
// No framework, no CDN: the SVG arrives drawn by the server; this only adds the details on hover.
(function () {
  "use strict";
  const tip = document.getElementById("tip");

  function show(target, x, y) {
    tip.textContent = target.getAttribute("data-tip");
    tip.hidden = false;
    tip.style.left = "0px";
    // kept inside the window: on a phone a tip near the right edge would otherwise be squeezed or spill over
    tip.style.left = Math.max(4, Math.min(x + 12, window.innerWidth - tip.offsetWidth - 4)) + "px";
    tip.style.top = Math.max(4, Math.min(y + 12, window.innerHeight - tip.offsetHeight - 4)) + "px";
  }

  function hide() { tip.hidden = true; }

  document.querySelectorAll("[data-tip]").forEach(function (el) {
    el.addEventListener("mouseenter", function (e) { show(el, e.clientX, e.clientY); });
    el.addEventListener("mousemove", function (e) { show(el, e.clientX, e.clientY); });
    el.addEventListener("mouseleave", hide);
    el.addEventListener("focus", function () {
      const box = el.getBoundingClientRect();
      show(el, box.right, box.top);
    });
    el.addEventListener("blur", hide);
  });

  document.querySelectorAll(".band").forEach(function (band) {
    band.addEventListener("mouseenter", function () { band.classList.add("active"); });
    band.addEventListener("mouseleave", function () { band.classList.remove("active"); });
  });

  const links = Array.from(document.querySelectorAll("#network .link"));
  document.querySelectorAll("#network .node").forEach(function (node) {
    const party = node.getAttribute("data-party");
    node.addEventListener("mouseenter", function () {
      links.forEach(function (link) {
        const touches = link.getAttribute("data-source") === party || link.getAttribute("data-target") === party;
        link.classList.toggle("active", touches);
        link.classList.toggle("dim", !touches);
      });
    });
    node.addEventListener("mouseleave", function () {
      links.forEach(function (link) { link.classList.remove("active", "dim"); });
    });
  });
})();
