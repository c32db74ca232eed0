// edw serve's page: the reruns panel (each campaign's progress, resume) and a step's "Rerun…"
// form (dry run, start). Uses element, api, $ and ageSince from app.js; actions go through the
// same cookie (the access token) as retry.
"use strict";

function rerunPercent(part, whole) {
  return whole > 0 ? Math.min(100, Math.round((100 * part) / whole)) : 0;
}

// While it sends docs back, how many it has looked at; after, how many have run the step again.
function rerunProgress(rerun) {
  if (rerun.state === "running" || rerun.state === "interrupted" || rerun.state === "failed") {
    return { percent: rerunPercent(rerun.scanned, rerun.total), label: "sending back: looked at " +
      rerun.scanned + " of " + rerun.total + ", " + rerun.sent_back + " sent back" };
  }
  return { percent: rerunPercent(rerun.run_again, rerun.marked), label: "run again " +
    rerun.run_again + " of " + rerun.marked + " (" + rerun.sent_back + " sent back of " + rerun.scanned + " looked at)" };
}

function drawReruns(status) {
  const reruns = (status.reruns || []).slice().reverse(); // newest first
  $("reruns-box").hidden = reruns.length === 0;
  const list = $("reruns");
  list.replaceChildren();
  for (const rerun of reruns) {
    const progress = rerunProgress(rerun);
    const fill = element("i");
    fill.style.width = progress.percent + "%";
    const started = element("span", {}, "started " + ageSince(rerun.started));
    started.title = rerun.started;
    const times = [started];
    if (rerun.finished) {
      const finished = element("span", {}, "finished " + ageSince(rerun.finished));
      finished.title = rerun.finished;
      times.push(" · ", finished);
    }
    const item = element("li", { class: "rerun " + rerun.state, "data-campaign": rerun.campaign },
      element("div", { class: "rerun-head" },
        element("strong", {}, rerun.step),
        element("span", { class: "rerun-state" }, rerun.state),
        element("code", { class: "hint" }, rerun.campaign)),
      element("div", { class: "bar", title: progress.percent + "%" }, fill),
      element("div", { class: "rerun-progress" }, progress.label),
      element("div", { class: "hint" }, "“" + (rerun.reason || "no reason given") + "” · by " + rerun.by + " · ", ...times));
    if (rerun.state === "interrupted") {
      const result = element("span", { class: "hint rerun-result" }, rerun.error ? rerun.error : "");
      const button = element("button", { type: "button", class: "action" }, "Resume");
      button.addEventListener("click", () => resumeRerun(rerun.campaign, button, result));
      item.append(element("div", { class: "rerun-actions" }, button, " ", result));
    }
    list.append(item);
  }
}

async function resumeRerun(campaign, button, result) {
  button.disabled = true;
  try {
    await api("/api/rerun/" + encodeURIComponent(campaign) + "/resume", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    result.textContent = "resumed";
    await refresh(true);
  } catch (error) {
    result.textContent = "resume failed: " + error.message;
    button.disabled = false;
  }
}

// The form's criteria as the API takes them; throws for a selector that is not JSON.
function rerunRequest(dryRun) {
  const body = { step: state.step, reason: $("rerun-reason").value.trim(), dry_run: dryRun };
  const selector = $("rerun-selector").value.trim();
  if (selector) {
    try {
      body.selector = JSON.parse(selector);
    } catch (error) {
      throw new Error("the selector is not JSON: " + error.message);
    }
  }
  if ($("rerun-before").value.trim()) body.processed_before = $("rerun-before").value.trim();
  if ($("rerun-version").value.trim()) body.version = $("rerun-version").value.trim();
  if ($("rerun-all").checked) body.all = true;
  return body;
}

async function submitRerun(dryRun) {
  const result = $("rerun-result");
  result.className = "rerun-result";
  result.replaceChildren();
  const buttons = [$("rerun-dry"), $("rerun-start")];
  buttons.forEach((button) => { button.disabled = true; });
  try {
    const body = rerunRequest(dryRun);
    const answer = await api("/api/rerun", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (dryRun) {
      result.append(element("strong", { id: "rerun-would" }, String(answer.sent_back)),
        " of " + answer.scanned + " docs would go back to wait at " + answer.step + " (nothing written)");
      if (answer.sample.length) {
        result.append(element("br"), "for example: ",
          ...answer.sample.slice(0, 5).flatMap((id, i) =>
            [i ? ", " : "", element("a", { href: "#doc/" + encodeURIComponent(id) }, id)]));
      }
    } else {
      result.append("started rerun ", element("code", { id: "rerun-started" }, answer.campaign),
        ": follow it in the Reruns panel");
      await refresh(true);
    }
  } catch (error) {
    result.classList.add("bad");
    result.textContent = error.message;
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
}

// The form of the selected step: only for a step of the pipeline (a retired one takes no doc).
function showRerunForm() {
  const step = (state.status ? state.status.steps : []).find((s) => s.name === state.step);
  const box = $("rerun-box");
  box.hidden = !step || step.retired;
  if (box.dataset.step !== state.step) {
    box.dataset.step = state.step || "";
    $("rerun-step").textContent = state.step || "";
    $("rerun-result").replaceChildren();
  }
}

function setupReruns() {
  $("rerun-dry").addEventListener("click", () => submitRerun(true));
  $("rerun-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitRerun(false);
  });
}
