import { render } from 'preact';
import './styles.css';
import { initApi } from './api/client';
import { loadConfig } from './config';
import { App } from './App';

const root = document.getElementById('app')!;

loadConfig()
  .then((cfg) => {
    initApi(cfg.apiUrl);
    render(<App />, root);
  })
  .catch((err) => {
    root.innerHTML = '';
    const p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.textContent = `The console could not read its settings (${err instanceof Error ? err.message : err}). Reload the page; if it persists, the deployment is incomplete.`;
    root.append(p);
  });
