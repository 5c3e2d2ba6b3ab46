"""Everything Telegram: the aiogram bot, its middlewares, the sandbox."""
