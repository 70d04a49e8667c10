// The copy button next to a resource's permanent IRI (no inline script: CSP allows 'self').
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  navigator.clipboard.writeText(text).then(() => {
    const original = button.textContent;
    button.textContent = "✓";
    setTimeout(() => { button.textContent = original; }, 1500);
  });
});
