// Copy buttons: <button data-copy="element-id">. The only script the dashboard has; served from 'self' (CSP).
document.addEventListener('DOMContentLoaded', () => {
  for (const button of document.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', async () => {
      const field = document.getElementById(button.dataset.copy);
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
      } catch {
        document.execCommand('copy');
      }
      button.textContent = 'Copied';
    });
  }
});
