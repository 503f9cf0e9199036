import { render } from 'preact';
render(<p>rollcall</p>, document.getElementById('app')!);
