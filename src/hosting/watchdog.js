// Innkeeper's watchdog, loaded with `node --require` before SillyTavern's
// server.js. Innkeeper holds the other end of this process's stdin; when
// that end closes (Innkeeper exited, even when it was killed), the process
// asks itself to stop, so SillyTavern runs its own shutdown (saving its
// usage stats) and no process outlives the server that started it.
'use strict';

let stopping = false;
function stop() {
    if (stopping) return;
    stopping = true;
    process.kill(process.pid, 'SIGTERM');
}

process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
