"""English texts. Every key here exists in every other catalogue, with the same placeholders."""

MESSAGES: dict[str, str] = {
    # Commands.
    "start": (
        "Hi! I make 50-second narrated videos from one sentence.\n\n"
        "1. Send me what the video is about{by_voice}. "
        "Add a photo (its caption is the prompt) and every scene is drawn after it.\n"
        "2. I write a script: approve it, ask for changes or edit it.\n"
        "3. I draw ten scenes: approve them or redo the ones you don't like.\n"
        "4. I animate them: approve the clips.\n"
        "5. You get the video with narration.\n\n"
        "/help lists the commands."
    ),
    "help": (
        "/new — start a new video\n"
        "/status — what your video is doing, and its cost so far\n"
        "/cancel — stop your current video\n"
        "/settings — {settings_list}\n"
        "/history — your recent videos\n\n"
        "Or just send a sentence{or_voice} to start. Send a photo first, and your next video "
        "is drawn after it."
    ),
    "new": "Send me one sentence{or_voice} about the video you want.",
    "private_only": "I work in private chats only: write to me directly.",
    "not_allowed": "Sorry, this bot is private.",
    "rate_limited": "That's a lot of messages. Please wait {wait} and try again.",
    "wait_seconds": "{n} s",
    "wait_minutes": "{n} min",
    "unknown_command": "I don't know that command. /help lists what I can do.",
    "unsupported": "I can use {kinds}. Send me a sentence.",
    # Filled into the invitations above: voice notes are named only when the bot takes them.
    "by_voice": ", as text or a voice note (up to {length})",
    "or_voice": " (or a voice note)",
    "kinds_voice": "text, a voice note or a photo",
    "kinds_text": "text or a photo",
    "settings_list": "format, language, narrator voice and captions",
    "settings_list_clips": "format, language, narrator voice, captions and clip model",
    "edited_ignored": "I don't follow edited messages. Send the new text as a new message.",
    "prompt_empty": "The message is empty: say what the video should be about.",
    "prompt_too_long": "That is {length} characters; please keep the prompt to {limit} at most.",
    "answer_too_long": "That is {length} characters; please keep it to {limit} at most.",
    "active_job": (
        "You already have a video in progress ({job}). /status shows where it is; /cancel stops it."
    ),
    "accepted": "Got it! Video {job} is on its way.",
    "start_failed": "Sorry, I could not start the video. Please try again in a minute.",
    "voice_too_long": "The voice note is longer than {limit}. Please keep it shorter.",
    "voice_too_big": "The voice note is over {limit} MB. Please send a shorter one.",
    "voice_failed": "I could not download the voice note. Please send it again.",
    "voice_unavailable": "This bot does not take voice notes. Please send your request as text.",
    # Status, cancel, history, stats.
    "status_none": "You have no video in progress. Send a sentence to start one.",
    "status_cost": "Cost so far: ${cost}",
    "cancel_none": "There is nothing to cancel.",
    "cancelling": "Stopping video {job}…",
    "cancelled": "Video {job} is cancelled.",
    "cancel_failed": "I could not cancel video {job}. Please try again.",
    "history_empty": "You have not made any videos yet.",
    "history_header": "Your recent videos:",
    "history_line": "{date} · {prompt} · {status}",
    "stats_header": "Jobs by state:",
    "stats_line": "{status}: {count}",
    "stats_spend": "Spent today: ${cost}",
    "stats_failures_header": "Recent failures:",
    "stats_failure_line": "{date} · {job} · {stage}: {reason}",
    # Settings.
    "settings": "Settings\nFormat: {format}\nLanguage: {language}\nNarrator voice: {voice}\n"
                "Captions: {captions}\nClips: {motion}",
    "captions_on": "captions on",
    "captions_off": "captions off",
    "captions_state_on": "on",
    "captions_state_off": "off",
    "settings_saved": "Saved.",
    "language_en": "English",
    "language_ru": "Russian",
    "language_auto": "from Telegram",
    # Gate messages.
    "script_heard": "You said: “{text}”",
    "script_header": "Script (version {attempt}): {title}",
    "part_intro": "Intro",
    "part_main": "Main",
    "part_outro": "Outro",
    "script_part": "{part} ({start}-{end} s)\n{text}",
    "script_silent": "⚠️ {part}: the text is short, about {silent} s of its {seconds} s "
                     "would be silent. Edit it to add words, or approve it as it is.",
    "images_gate": "The ten scenes (round {attempt}). Approve them, or redo the ones you "
    "don't like.",
    "clips_gate": "The ten clips (round {attempt}). Approve them, or redo the ones you don't like.",
    "sheet_caption": "All ten scenes at a glance.",
    "scene_safety_images": (
        "Scene {scene}: the provider's safety system refused this scene: edit its prompt."
    ),
    "scene_safety_clips": (
        "Scene {scene}: the provider's safety system refused to animate this scene: redo it, "
        "or cancel."
    ),
    "scene_transient": "Scene {scene} could not be made this time (a passing fault): redo it.",
    "scene_daily_cap": "Scene {scene}: today's generation limit is used up: redo it tomorrow.",
    "scene_setup": (
        "Scene {scene}: the bot is not set up to make this yet; its operator has the details."
    ),
    "scene_permanent": (
        "Scene {scene} could not be made, and a redo as it is will probably fail again; the "
        "bot's operator has the details."
    ),
    "clip_estimate": "Approving starts the clips: {scenes} scenes with {model}, estimated "
    "${cost}.",
    "redo_pick": "Tap the scenes to make again, then confirm.",
    "edit_pick_part": "Which part do you want to rewrite?",
    "edit_pick_scene": "Which scene's prompt do you want to change?",
    "ask_feedback": "What should change in the script? Reply with a sentence.",
    "ask_part_text": "Send the new text for the {part}.",
    "ask_scene_text": "Send the new prompt for scene {scene}. Now: {current}",
    "answer_stale": "That question is no longer open; the video has moved on.",
    # Buttons.
    "btn_approve": "✅ Approve",
    "btn_approve_all": "✅ Approve all",
    "btn_regenerate": "🔄 Regenerate",
    "btn_edit": "✏️ Edit",
    "btn_cancel": "✖️ Cancel",
    "btn_redo": "🔁 Redo",
    "btn_confirm_redo": "Redo {count} scene(s)",
    "btn_back": "← Back",
    # Button answers and outcomes.
    "outcome_approve": "✅ Approved.",
    "outcome_cancel": "✖️ Cancelled.",
    "outcome_regenerate": "🔄 Regenerating with your feedback.",
    "outcome_edit": "✏️ Edited.",
    "outcome_redo": "🔁 Redoing scene(s) {scenes}.",
    "resumed_after_fault": (
        "The work stopped on a fault and carries on where it was. "
        "Nothing already made is paid for again."
    ),
    "already_decided": "Already decided.",
    "not_your_job": "This is someone else's video.",
    "bad_button": "This button is not valid.",
    "edit_too_long": "The {part} is {words} words; about {limit} fit. Please shorten it.",
    "approve_blocked": "Scene(s) {scenes} have no picture yet: redo them or edit their prompt.",
    "approve_blocked_clips": "Scene(s) {scenes} have no clip yet: redo them.",
    "style_empty": (
        "That style says nothing I can use. Send lines of “Label: value”, for example "
        "“Palette: teal, coral”."
    ),
    "expired": (
        "You didn't answer within {hours} h, so this video has expired. Send your idea again "
        "to start a new one."
    ),
    "resume_failed": "I could not pass that on just now. Please tap again in a minute.",
    # Progress and the end.
    "stage_queued": "⏳ Waiting for a free slot",
    "stage_intake": "👂 Reading your request",
    "stage_script": "📝 Writing the script",
    "stage_segments": "🎬 Planning the scenes",
    "stage_images": "🖼 Images",
    "stage_motion": "🎞 Planning the motion",
    "stage_clips": "🎥 Clips",
    "stage_narration": "🎙 Recording the narration",
    "stage_assembly": "🛠 Assembling the video",
    "stage_delivery": "📤 Sending the video",
    "stage_waiting": "👀 Waiting for your decision",
    "stage_delivered": "✅ Done",
    "stage_cancelled": "✖️ Cancelled",
    "stage_failed": "❌ Failed",
    "stage_expired": "⌛ Expired: no decision arrived in time",
    "queue_position": "Position in the queue: {position}",
    "progress_count": "{done}/{total} {bar}",
    "video_caption": "{title}\n{duration} s · cost ${cost}",
    "failed": (
        "Sorry, video {job} stopped at this step: {stage}. {advice} The bot's operator has "
        "the details."
    ),
    "failed_somewhere": "Sorry, video {job} stopped. {advice} The bot's operator has the details.",
    "fail_advice_transient": "It looks like a passing fault: send your request again in a few "
    "minutes.",
    "fail_advice_safety": (
        "The provider's safety system refused it: reword the request and send it again."
    ),
    "fail_advice_daily_cap": "The bot has used up today's generation limit: try again tomorrow.",
    "fail_advice_setup": (
        "The bot is not set up for this yet, so sending it again will not help for now."
    ),
    "fail_advice_voice": (
        "I could not make out the voice note: record it again, or send the request as text."
    ),
    "fail_advice_internal": (
        "Something broke on our side; trying again will not help until it is fixed."
    ),
    "fail_advice_permanent": (
        "The same request would probably fail the same way; a reworded one may work."
    ),
    "admin_job_failed": "⚠️ Job {job} of {person} failed at stage {stage}:\n{reason}",
    "admin_scenes_failed": "⚠️ Job {job} of {person}, {stage} round {attempt}: {count} "
    "scene(s) failed:\n{reasons}",
    # Style, photo, motion, budgets.
    "part_style": "Style",
    "style_medium": "Medium",
    "style_palette": "Palette",
    "style_lighting": "Lighting",
    "script_style": "🎨 Style of every picture:\n{style}",
    "ask_style_text": (
        "Send the new style as lines of “Label: value”; only the lines you change are needed, "
        "and a line with another label names a recurring character. Now:\n{current}"
    ),
    "round_made": "Made again: scene(s) {scenes}.",
    "photo_kept": (
        "Got the photo: your next video is drawn after it. Now send what the video is about. "
        "I keep the photo for {hours} h."
    ),
    "photo_too_big": "The photo is over {limit} MB. Please send a smaller one.",
    "photo_unreadable": "I could not read that picture. Please send a JPEG, PNG or WebP photo.",
    "photo_failed": "I could not download the photo. Please send it again.",
    "budget_of_job": "this video's ${limit} budget",
    "budget_of_day": "your ${limit} for today",
    "over_budget": (
        "Not started: that would cost about ${cost}, and ${left} is left of {of}. You can "
        "cancel, or ask the bot's operator for more."
    ),
    "budget_day_spent": "You have used today's ${limit}. Please try again tomorrow.",
    "fail_advice_budget": "The next step would pass the spending limit, so it was not started.",
}
