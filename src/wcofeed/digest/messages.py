"""The words of the emails and subscription pages, per language (English fallback).

English and French are complete; other languages fall back to English text per
message while dates and "in 3 days" stay localised by babel.
"""

from __future__ import annotations

from wcofeed.i18n import Catalog

EMAIL_TEXT = Catalog(
    {
        "en": {
            "subject_one": "Closes {when}: {title}",
            "subject_one_by": "Closes {when} at the latest: {title}",
            "subject_many": "{count} calls for applications close soon",
            "subject_digest": "New on {site}: {count} items",
            "subject_confirm": "Confirm your subscription to {site}",
            "group_today": "Closes today",
            "group_week": "Closes this week",
            "group_later": "Closes later",
            "closes": "Deadline {date}, {when}",
            "closes_by": "Deadline {date}, {when} at the latest",
            "new_items": "New since {date}",
            "other_topic": "Other",
            "feed": "Feed of your topics",
            "calendar": "The deadlines are attached as a calendar file.",
            "preferences": "Change your preferences",
            "unsubscribe": "Unsubscribe",
            "why": "You receive this email because you subscribed to {site}.",
            "confirm_intro": (
                "Someone, hopefully you, asked for deadline reminders and news from {site} "
                "at this address. Follow this link to confirm:"
            ),
            "confirm_ignore": "If it was not you, ignore this email: nothing more will be sent.",
            "confirm_button": "Confirm my subscription",
            "subscribe_title": "Subscribe to reminders",
            "subscribe_intro": (
                "Get an email before calls for applications close, and news on the topics "
                "you choose. You will be asked to confirm your address."
            ),
            "email": "Email address",
            "language": "Language",
            "topics": "Topics (none ticked: all)",
            "lead_days": "Remind me this many days before a deadline",
            "digest": "News digest",
            "digest_off": "off",
            "digest_daily": "daily",
            "digest_weekly": "weekly",
            "timezone": "Time zone",
            "subscribe_button": "Subscribe",
            "save_button": "Save",
            "check_inbox": "Check your inbox: we sent a confirmation link to {email}.",
            "confirmed": "Your subscription is active. Thank you.",
            "unsubscribe_title": "Unsubscribe",
            "unsubscribe_question": "Stop all emails to {email}?",
            "unsubscribed": "{email} will receive no more emails.",
            "preferences_title": "Your preferences",
            "saved": "Your preferences are saved.",
            "invalid_link": "This link is not valid: {reason}.",
            "invalid_form": "Please correct: {errors}.",
        },
        "fr": {
            "subject_one": "Clôture {when} : {title}",
            "subject_one_by": "Clôture {when} au plus tard : {title}",
            "subject_many": "{count} appels à candidatures se terminent bientôt",
            "subject_digest": "Nouveau sur {site} : {count} éléments",
            "subject_confirm": "Confirmez votre abonnement à {site}",
            "group_today": "Clôture aujourd'hui",
            "group_week": "Clôture cette semaine",
            "group_later": "Clôture plus tard",
            "closes": "Date limite {date}, {when}",
            "closes_by": "Date limite {date}, {when} au plus tard",
            "new_items": "Nouveautés depuis le {date}",
            "other_topic": "Autres",
            "feed": "Flux de vos thèmes",
            "calendar": "Les dates limites sont jointes en fichier calendrier.",
            "preferences": "Modifier vos préférences",
            "unsubscribe": "Se désabonner",
            "why": "Vous recevez ce courriel car vous êtes abonné(e) à {site}.",
            "confirm_intro": (
                "Quelqu'un, sans doute vous, a demandé à recevoir des rappels d'échéance et "
                "des nouvelles de {site} à cette adresse. Suivez ce lien pour confirmer :"
            ),
            "confirm_ignore": (
                "Si ce n'était pas vous, ignorez ce courriel : rien d'autre ne sera envoyé."
            ),
            "confirm_button": "Confirmer mon abonnement",
            "subscribe_title": "S'abonner aux rappels",
            "subscribe_intro": (
                "Recevez un courriel avant la clôture des appels à candidatures, et les "
                "nouvelles des thèmes choisis. Vous devrez confirmer votre adresse."
            ),
            "email": "Adresse électronique",
            "language": "Langue",
            "topics": "Thèmes (aucun coché : tous)",
            "lead_days": "Me prévenir ce nombre de jours avant une date limite",
            "digest": "Résumé des nouveautés",
            "digest_off": "aucun",
            "digest_daily": "quotidien",
            "digest_weekly": "hebdomadaire",
            "timezone": "Fuseau horaire",
            "subscribe_button": "S'abonner",
            "save_button": "Enregistrer",
            "check_inbox": (
                "Consultez votre boîte : un lien de confirmation a été envoyé à {email}."
            ),
            "confirmed": "Votre abonnement est actif. Merci.",
            "unsubscribe_title": "Se désabonner",
            "unsubscribe_question": "Ne plus rien envoyer à {email} ?",
            "unsubscribed": "{email} ne recevra plus de courriels.",
            "preferences_title": "Vos préférences",
            "saved": "Vos préférences sont enregistrées.",
            "invalid_link": "Ce lien n'est pas valable : {reason}.",
            "invalid_form": "Veuillez corriger : {errors}.",
        },
    }
)
