"""Deadline reminders and new-item digests by email, exactly once per reminder.

`run.run_digest` does one round and `pipeline` delivers it; `confirm` sends the double
opt-in email; `subscription` checks what someone asks for; `tokens` signs the links in
every email; `select` decides who gets what (pure); `render` builds the MIME message;
`send` delivers it by SMTP or into an outbox folder.
"""
