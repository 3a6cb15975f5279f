// Request to Mediate: "Add another party" adds a block in place. Without this script the same button sends the
// form back to the server, which shows it again with one more block (nothing is filed).
(function () {
  "use strict";

  var fieldset = document.getElementById("other-parties");
  var add = fieldset && fieldset.querySelector('button[name="add_party"]');
  if (!add) {
    return;
  }
  var max = parseInt(fieldset.getAttribute("data-max-blocks"), 10) || 1;

  function blocks() {
    return fieldset.querySelectorAll(".party-block");
  }

  function renumber(block, index) {
    var n = index + 1;
    block.setAttribute("data-index", String(index));
    Array.prototype.forEach.call(block.querySelectorAll("[id], [name], label[for]"), function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) {
          el.setAttribute(attr, value.replace(/^others-\d+-/, "others-" + index + "-"));
        }
      });
    });
    Array.prototype.forEach.call(block.querySelectorAll("label"), function (label) {
      label.textContent = label.textContent.replace(/^Party \d+:/, "Party " + n + ":");
    });
  }

  add.addEventListener("click", function (event) {
    var all = blocks();
    if (all.length >= max) {
      return;
    }
    event.preventDefault();
    var block = all[all.length - 1].cloneNode(true);
    // A fresh block: nothing typed, no error from the last attempt, nothing required beyond the first party.
    Array.prototype.forEach.call(block.querySelectorAll(".error"), function (el) {
      el.parentNode.removeChild(el);
    });
    Array.prototype.forEach.call(block.querySelectorAll("input"), function (input) {
      input.value = "";
      input.removeAttribute("required");
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    Array.prototype.forEach.call(block.querySelectorAll("select"), function (select) {
      select.selectedIndex = 0;
    });
    renumber(block, all.length);
    all[all.length - 1].parentNode.insertBefore(block, all[all.length - 1].nextSibling);
    block.querySelector("input").focus();
    if (blocks().length >= max) {
      add.parentNode.hidden = true;
    }
  });
})();
