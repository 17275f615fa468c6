package notice

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"appliance/httpd/i18n"
)

// TelegramAPI is the Bot API's base URL.
const TelegramAPI = "https://api.telegram.org"

// maxTelegramText is the most characters a Bot API message holds.
const maxTelegramText = 4096

// TelegramEndpoint is a telegram: endpoint read: the chat its messages go
// to and their language. The bot's token is the endpoint's secret.
type TelegramEndpoint struct {
	Chat string // a chat id (-1001234567890) or a public channel's @name
	Lang i18n.Lang
}

var (
	chatID    = regexp.MustCompile(`^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$`)
	botToken  = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{30,64}$`)
	errTGChat = ErrInvalid.Errorf("a Telegram endpoint is telegram:CHAT_ID (a number such as -1001234567890, or @channel)[?lang=en], with the bot's token as its secret")
)

// ParseTelegram reads a telegram: URL, "telegram:-1001234567890" or
// "telegram:@channel", with an optional "?lang=en" (Russian by default),
// and returns it with its canonical URL.
func ParseTelegram(raw string) (TelegramEndpoint, string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !strings.EqualFold(u.Scheme, "telegram") || !chatID.MatchString(u.Opaque) {
		return TelegramEndpoint{}, "", errTGChat
	}
	e := TelegramEndpoint{Chat: u.Opaque, Lang: i18n.Ru}
	q := u.Query()
	if l := q.Get("lang"); l != "" {
		var ok bool
		if e.Lang, ok = i18n.Parse(l); !ok || len(q) > 1 {
			return TelegramEndpoint{}, "", errTGChat
		}
	} else if len(q) > 0 {
		return TelegramEndpoint{}, "", errTGChat
	}
	canonical := "telegram:" + e.Chat
	if e.Lang != i18n.Ru {
		canonical += "?lang=" + string(e.Lang)
	}
	return e, canonical, nil
}

// CheckBotToken checks a Telegram bot's token as BotFather gives it
// (123456789:AA...).
func CheckBotToken(token string) error {
	if !botToken.MatchString(token) {
		return ErrInvalid.Errorf("a Telegram endpoint's secret is its bot's token as @BotFather gives it, such as 123456789:AAE...")
	}
	return nil
}

// Telegram posts notifications to chats through a bot.
type Telegram struct {
	API     string       // the Bot API's base URL; TelegramAPI in serve
	Client  *http.Client // the outbound policy's client (webhooks.Hooks.Client)
	Timeout time.Duration
	W       Writer
}

// Send posts the notification of one webhook delivery (body: its JSON) to
// e's chat as the bot whose token is given, and says how it went as a
// webhook's delivery does: the API's HTTP status (0 without an answer)
// and, unless it took the message, why not (the API's description; never
// the token).
func (tg *Telegram) Send(ctx context.Context, e TelegramEndpoint, token string, body []byte) (status int, failure string) {
	if err := CheckBotToken(token); err != nil {
		return 0, err.Error()
	}
	subject, text, err := tg.W.Compose(e.Lang, body)
	if err != nil {
		return 0, err.Error()
	}
	msg := subject + "\n\n" + text
	if utf8.RuneCountInString(msg) > maxTelegramText {
		msg = string([]rune(msg)[:maxTelegramText-1]) + "…"
	}
	req, _ := json.Marshal(map[string]any{"chat_id": e.Chat, "text": msg, "link_preview_options": map[string]bool{"is_disabled": true}})
	timeout := tg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(tg.API, "/")+"/bot"+token+"/sendMessage", bytes.NewReader(req))
	if err != nil {
		return 0, "telegram: bad request"
	}
	r.Header.Set("Content-Type", "application/json")
	resp, err := tg.Client.Do(r)
	if err != nil {
		// The error names the URL, and the URL holds the token.
		return 0, strings.ReplaceAll(err.Error(), token, "<token>")
	}
	defer resp.Body.Close()
	var answer struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	json.Unmarshal(b, &answer)
	if resp.StatusCode/100 == 2 && answer.OK {
		return resp.StatusCode, ""
	}
	why := oneLine(answer.Description, 200)
	if why == "" {
		why = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode/100 == 2 {
		resp.StatusCode = 502 // a 200 that says it did not send is not delivered
	}
	return resp.StatusCode, strconv.Itoa(resp.StatusCode) + " " + strings.ReplaceAll(why, token, "<token>")
}
