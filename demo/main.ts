import "./app-shell.js";
