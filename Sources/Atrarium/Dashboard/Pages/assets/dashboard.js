// The Atrarium dashboard's only script. Every page works without it; it
// adds a live check of the feed mix's sum and copy buttons.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // feedMix: show the sum as it is typed, and say so when it is not 100.
  for (const set of document.querySelectorAll("fieldset[data-feedmix]")) {
    const inputs = set.querySelectorAll("input[type=number]");
    const out = set.querySelector("output");
    const update = () => {
      let sum = 0;
      for (const input of inputs) sum += Number(input.value || 0);
      out.textContent = set.dataset.sumLabel.replace("{sum}", String(sum));
      const wrong = sum !== 100;
      out.classList.toggle("error", wrong);
      for (const input of inputs) input.setAttribute("aria-invalid", wrong ? "true" : "false");
    };
    for (const input of inputs) input.addEventListener("input", update);
    update();
  }
  // Copy buttons: the button names the element whose text it copies.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = button.dataset.copied;
      } catch {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
      }
    });
  }
});
