// vigichem web interface: draws the charts whose data the server put in JSON blocks (no inline scripts:
// the Content-Security-Policy allows only this file and the vendored libraries).
(function () {
  "use strict";
  const palette = { low: "#66bb6a", medium: "#fdd835", high: "#fb8c00", critical: "#e53935" };

  function draw(root) {
    if (typeof window.Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      const spec = JSON.parse(source.textContent);
      spec.datasets.forEach(function (set) {
        if (!set.backgroundColor) { set.backgroundColor = palette[set.key] || "#42a5f5"; }
      });
      new window.Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          indexAxis: spec.horizontal ? "y" : "x",
          scales: { x: { stacked: !!spec.stacked }, y: { stacked: !!spec.stacked, beginAtZero: true } },
          plugins: { legend: { display: spec.datasets.length > 1 } },
        },
      });
      canvas.dataset.drawn = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
