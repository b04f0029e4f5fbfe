// Self-check questions (see _ext/selfcheck.py): say whether the reader's choice is right and show
// the explanation of each option picked. Nothing is sent anywhere; nothing is loaded from elsewhere.
(function () {
  "use strict";
  function setUp(box) {
    box.classList.add("dlb-sc-js");  // without this class (no JavaScript) every explanation is shown
    var multiple = box.getAttribute("data-multiple") === "1";
    var options = Array.prototype.slice.call(box.querySelectorAll(".dlb-sc-option"));
    var verdict = box.querySelector(".dlb-sc-verdict");
    function update() {
      var chosen = options.filter(function (o) { return o.querySelector("input").checked; });
      options.forEach(function (o) {
        o.classList.toggle("dlb-sc-shown", o.querySelector("input").checked);
      });
      if (!chosen.length) { verdict.textContent = ""; box.removeAttribute("data-state"); return; }
      var right = options.filter(function (o) { return o.getAttribute("data-correct") === "1"; });
      var allRight = chosen.every(function (o) { return o.getAttribute("data-correct") === "1"; });
      var complete = chosen.length === right.length;
      var state = allRight && complete ? "right" : (allRight ? "partial" : "wrong");
      box.setAttribute("data-state", state);
      verdict.textContent = state === "right" ? "Correct."
        : state === "partial" ? "Right so far: another option is also correct."
        : (multiple ? "Not quite: at least one choice is wrong (read its explanation)."
                    : "Not quite: read the explanation, then try again.");
    }
    options.forEach(function (o) { o.querySelector("input").addEventListener("change", update); });
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".dlb-selfcheck"), setUp);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
