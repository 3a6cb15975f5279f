// Submit Mediator Ranking: drag and drop (SortableJS) plus keyboard buttons on each card.
// The page works without this script through one <select> per mediator; this script hides those selects
// and keeps them in step with the two lists, so the server reads the same fields either way.
(function () {
  "use strict";

  var form = document.getElementById("ranking-form");
  if (!form) {
    return;
  }
  var ranked = document.getElementById("ranked-list");
  var eliminated = document.getElementById("eliminated-list");
  var eliminatedColumn = document.getElementById("eliminated-column");
  var statusLine = document.getElementById("ranking-status");
  var hint = document.getElementById("eliminated-hint");
  var icons = document.getElementById("ranking-icons");
  var maxEliminations = parseInt(form.getAttribute("data-max-eliminations"), 10) || 0;
  var panelOrder = (form.getAttribute("data-panel-order") || "").split(" ");
  var firstBallot = form.getAttribute("data-first-ballot") === "true";
  var untouchedQuestion = form.getAttribute("data-untouched-question");
  var ACTION_ICONS = { up: "arrow-up", down: "arrow-down", eliminate: "ban", restore: "undo-2" };

  function cardsIn(list) {
    return Array.prototype.filter.call(list.children, function (el) {
      return el.classList.contains("mediator-card");
    });
  }

  function nameOf(card) {
    return card.getAttribute("data-name");
  }

  function idsIn(list) {
    return cardsIn(list).map(function (card) {
      return card.getAttribute("data-mediator-id");
    });
  }

  function announce(message) {
    // Clearing first makes screen readers repeat a message identical to the previous one.
    statusLine.textContent = "";
    window.setTimeout(function () {
      statusLine.textContent = message;
    }, 50);
  }

  function tooManyMessage() {
    return "You may eliminate at most " + maxEliminations + " mediator" + (maxEliminations === 1 ? "" : "s") + ".";
  }

  function canEliminateAnother() {
    return cardsIn(eliminated).length < maxEliminations && cardsIn(ranked).length > 1;
  }

  function iconFor(action) {
    var svg = icons && icons.content.querySelector(".icon-" + ACTION_ICONS[action]);
    return svg ? svg.cloneNode(true) : document.createTextNode("");
  }

  function button(card, action, label, enabled) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.setAttribute("data-action", action);
    b.appendChild(iconFor(action));
    b.appendChild(document.createTextNode(" " + label));
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.appendChild(document.createTextNode(" " + nameOf(card)));
    b.appendChild(who);
    // aria-disabled rather than disabled: a disabled button drops keyboard focus right after the move that disabled it.
    // It looks disabled (app.css) and does nothing but say why.
    if (!enabled) {
      b.setAttribute("aria-disabled", "true");
    }
    return b;
  }

  function rebuildControls(card) {
    var old = card.querySelector(".controls");
    if (old) {
      old.parentNode.removeChild(old);
    }
    var controls = document.createElement("div");
    controls.className = "controls";
    if (card.parentNode === ranked) {
      var position = cardsIn(ranked).indexOf(card);
      var last = cardsIn(ranked).length - 1;
      controls.appendChild(button(card, "up", "Move up", position > 0));
      controls.appendChild(button(card, "down", "Move down", position < last));
      controls.appendChild(button(card, "eliminate", "Eliminate", canEliminateAnother()));
    } else {
      controls.appendChild(button(card, "restore", "Restore", true));
    }
    card.appendChild(controls);
  }

  function sync() {
    cardsIn(ranked).forEach(function (card, index) {
      card.querySelector("select").value = String(index + 1);
    });
    cardsIn(eliminated).forEach(function (card) {
      card.querySelector("select").value = "eliminate";
    });
    cardsIn(ranked).concat(cardsIn(eliminated)).forEach(rebuildControls);
    if (hint) {
      eliminated.appendChild(hint);
      hint.hidden = cardsIn(eliminated).length >= maxEliminations;
    }
    eliminatedColumn.classList.toggle("is-full", cardsIn(eliminated).length >= maxEliminations);
  }

  function focusAction(card, preferred) {
    // Stay on the button just pressed when it still exists, so pressing Move down repeatedly keeps working.
    for (var i = 0; i < preferred.length; i++) {
      var b = card.querySelector('button[data-action="' + preferred[i] + '"]');
      if (b) {
        b.focus();
        return;
      }
    }
  }

  function describePlace(card) {
    if (card.parentNode === eliminated) {
      return nameOf(card) + " is eliminated.";
    }
    var total = cardsIn(ranked).length;
    return nameOf(card) + " is ranked " + (cardsIn(ranked).indexOf(card) + 1) + " of " + total + ".";
  }

  function act(card, action) {
    var list = cardsIn(ranked);
    var index = list.indexOf(card);
    if (action === "up") {
      if (index <= 0) {
        announce(nameOf(card) + " is already first.");
        return;
      }
      ranked.insertBefore(card, list[index - 1]);
    } else if (action === "down") {
      if (index < 0 || index >= list.length - 1) {
        announce(nameOf(card) + " is already last.");
        return;
      }
      ranked.insertBefore(card, list[index + 1].nextSibling);
    } else if (action === "eliminate") {
      if (!canEliminateAnother()) {
        announce(cardsIn(ranked).length <= 1 ? "Keep at least one mediator ranked." : tooManyMessage() + " Restore one first.");
        return;
      }
      eliminated.appendChild(card);
    } else if (action === "restore") {
      ranked.appendChild(card);
    } else {
      return;
    }
    sync();
    focusAction(card, [action, "restore", "up"]);
    announce(describePlace(card));
  }

  function isPanelOrder() {
    return cardsIn(eliminated).length === 0 && idsIn(ranked).join(" ") === panelOrder.join(" ");
  }

  // ---- the mediator's profile in a dialog over the board, so the arrangement stays as it is ----------------

  function openProfile(trigger) {
    var dialog = document.getElementById(trigger.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") {
      return false;
    }
    dialog.showModal();
    return true;
  }

  Array.prototype.forEach.call(document.querySelectorAll("dialog.profile-dialog"), function (dialog) {
    dialog.addEventListener("click", function (event) {
      // The close button, or a click on the backdrop around the dialog's box.
      if (event.target.closest("[data-close-dialog]") || event.target === dialog) {
        dialog.close();
      }
    });
  });

  form.addEventListener("click", function (event) {
    var profile = event.target.closest("button.profile-button");
    if (profile) {
      if (openProfile(profile)) {
        event.preventDefault();
      }
      return;
    }
    var b = event.target.closest("button[data-action]");
    if (!b) {
      return;
    }
    event.preventDefault();
    act(b.closest(".mediator-card"), b.getAttribute("data-action"));
  });

  // ---- a board nobody arranged is submitted only when the person says so -----------------------------------

  form.addEventListener("submit", function (event) {
    var confirmed = form.querySelector('input[type="hidden"][name="panel_order_confirmed"]');
    var submitter = event.submitter;
    if (submitter && submitter.name === "panel_order_confirmed") {
      return;
    }
    if (firstBallot && isPanelOrder()) {
      if (!window.confirm(untouchedQuestion)) {
        event.preventDefault();
        announce("Nothing was submitted. Arrange the mediators, then click Submit my Ranking.");
        return;
      }
    }
    // Asked here (or there was nothing to ask): the server need not ask again.
    confirmed.value = "yes";
  });

  Array.prototype.forEach.call(form.querySelectorAll(".choice"), function (el) {
    el.hidden = true;
  });
  // The cards can be dragged now: show their grips.
  Array.prototype.forEach.call(form.querySelectorAll(".grip"), function (el) {
    el.hidden = false;
  });
  Array.prototype.forEach.call(form.querySelectorAll("button.profile-button"), function (el) {
    el.setAttribute("aria-haspopup", "dialog");
  });
  document.getElementById("no-js-help").hidden = true;
  document.getElementById("js-help").hidden = false;

  if (window.Sortable) {
    var options = {
      animation: 150,
      draggable: ".mediator-card",
      // Links and buttons inside a card keep working as links and buttons.
      filter: "a, button, select",
      preventOnFilter: false,
      // A card dropped where it may not go (a full "Eliminated" column, or outside both lists) returns to where
      // it started, instead of staying wherever the drag passed through the list.
      revertOnSpill: true,
      onSpill: function (event) {
        window.setTimeout(function () {
          sync();
          announce(
            droppedOnEliminated && !canEliminateAnother()
              ? tooManyMessage() + " " + nameOf(event.item) + " stays where it was; restore the eliminated mediator first."
              : nameOf(event.item) + " stays where it was."
          );
        }, 0);
      },
      onEnd: function (event) {
        sync();
        announce(describePlace(event.item));
      }
    };
    // Where the dragged card was last over, to say why a refused drop went back.
    var droppedOnEliminated = false;
    document.addEventListener("dragover", function (event) {
      droppedOnEliminated = eliminatedColumn.contains(event.target);
    });
    window.Sortable.create(ranked, Object.assign({}, options, { group: { name: "ranking", pull: true, put: true } }));
    window.Sortable.create(
      eliminated,
      Object.assign({}, options, {
        group: {
          name: "ranking",
          pull: true,
          put: function () {
            return canEliminateAnother();
          }
        }
      })
    );
  }
  sync();
})();
