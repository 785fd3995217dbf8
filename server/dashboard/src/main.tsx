// Entry: restores the session, then renders the app.
import { render } from 'preact';
import { App } from './app.tsx';
import { interceptLinks } from './router.ts';
import { session } from './session.ts';
import './styles.css';

const root = document.getElementById('app')!;
interceptLinks(root);
render(<App />, root);
void session.restore();
