// Tooltips for anything with data-tip, neighbourhood highlighting in the party network, and the action forms' checks.
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

  // The maps zoom (buttons, wheel) and, once zoomed, pan by dragging; labels keep their size on screen,
  // so zooming in on a crowded region pulls its labels apart.
  document.querySelectorAll("figure.map-figure").forEach(function (figure) {
    const svg = figure.querySelector("svg.map");
    const box = svg.viewBox.baseVal;
    const home = [box.x, box.y, box.width, box.height];
    let view = home.slice();

    function apply() {
      svg.setAttribute("viewBox", view.join(" "));
      svg.style.setProperty("--zoom", home[2] / view[2]);
      svg.classList.toggle("zoomed", view[2] < home[2]);
    }

    function clamp(x, y, w, h) {
      return [Math.min(Math.max(x, home[0]), home[0] + home[2] - w), Math.min(Math.max(y, home[1]), home[1] + home[3] - h), w, h];
    }

    function zoom(factor, cx, cy) {
      const w = Math.min(home[2], Math.max(home[2] / 8, view[2] * factor));
      const h = w * home[3] / home[2];
      cx = cx === undefined ? view[0] + view[2] / 2 : cx;
      cy = cy === undefined ? view[1] + view[3] / 2 : cy;
      view = clamp(cx - (cx - view[0]) * w / view[2], cy - (cy - view[1]) * h / view[3], w, h);
      apply();
    }

    function svgPoint(e) {
      const r = svg.getBoundingClientRect();
      return [view[0] + (e.clientX - r.left) * view[2] / r.width, view[1] + (e.clientY - r.top) * view[3] / r.height];
    }

    // zooming in heads for the middle of the marks in view (the median place), not for an empty sea
    function focus() {
      const inView = Array.from(svg.querySelectorAll("g.node circle, circle.country")).map(function (c) {
        return [c.cx.baseVal.value, c.cy.baseVal.value];
      }).filter(function (p) { return p[0] >= view[0] && p[0] <= view[0] + view[2] && p[1] >= view[1] && p[1] <= view[1] + view[3]; });
      if (!inView.length) { return [undefined, undefined]; }
      const median = function (values) { values.sort(function (a, b) { return a - b; }); return values[Math.floor(values.length / 2)]; };
      return [median(inView.map(function (p) { return p[0]; })), median(inView.map(function (p) { return p[1]; }))];
    }

    figure.querySelector(".zoom-in").addEventListener("click", function () {
      const f = focus();
      if (f[0] !== undefined) { view = clamp(f[0] - view[2] / 2, f[1] - view[3] / 2, view[2], view[3]); }
      zoom(0.5);
    });
    svg.addEventListener("dblclick", function (e) { const p = svgPoint(e); zoom(0.5, p[0], p[1]); });
    figure.querySelector(".zoom-out").addEventListener("click", function () { zoom(2); });
    figure.querySelector(".zoom-reset").addEventListener("click", function () { view = home.slice(); apply(); });
    svg.addEventListener("wheel", function (e) {
      if (!e.ctrlKey && !e.metaKey) { return; }  // plain wheel scrolls the page
      e.preventDefault();
      const p = svgPoint(e);
      zoom(e.deltaY < 0 ? 0.8 : 1.25, p[0], p[1]);
    }, { passive: false });

    let drag = null;
    svg.addEventListener("pointerdown", function (e) {
      if (view[2] < home[2]) { drag = { x: e.clientX, y: e.clientY, view: view.slice() }; svg.setPointerCapture(e.pointerId); }
    });
    svg.addEventListener("pointermove", function (e) {
      if (!drag) { return; }
      const r = svg.getBoundingClientRect();
      const dx = (e.clientX - drag.x) * view[2] / r.width, dy = (e.clientY - drag.y) * view[3] / r.height;
      view = clamp(drag.view[0] - dx, drag.view[1] - dy, view[2], view[3]);
      apply();
    });
    svg.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("pointercancel", function () { drag = null; });
  });

  // Action forms say on the page what is missing before anything is sent (a field with data-needed
  // must not be blank, spaces alone included), and are sent once: their button waits for the answer.
  document.querySelectorAll("form.act").forEach(function (form) {
    form.noValidate = true;
    const problem = form.querySelector(".form-problem");
    form.addEventListener("submit", function (e) {
      const blank = Array.from(form.querySelectorAll("[data-needed]")).find(function (field) { return !field.value.trim(); });
      if (blank) {
        e.preventDefault();
        problem.textContent = blank.getAttribute("data-needed");
        problem.hidden = false;
        blank.setAttribute("aria-invalid", "true");
        blank.focus();
        return;
      }
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    });
    form.addEventListener("input", function (e) {
      e.target.removeAttribute("aria-invalid");
      if (problem) { problem.hidden = true; }
    });
  });
  // An action's outcome shows once, on the request it was done to: reloading shows the requests as they are then.
  if (document.querySelector(".outcome") && /[?&]done=/.test(window.location.search)) {
    window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  }
  window.addEventListener("pageshow", function () {  // back to a page kept in the cache: its buttons work again
    document.querySelectorAll("form.act button[type=submit]").forEach(function (button) { button.disabled = false; });
  });
})();
