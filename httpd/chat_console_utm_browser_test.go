package httpd_test

import (
	"strings"
	"testing"
)

// The console's visitor panel names each UTM tag of the visit as the
// dashboard's lists do ("Источник: vk · Тип трафика: social"): it joined
// them under "Кампания" ("Кампания: vk / social"), which read as a
// campaign named vk / social for a visit that came with no campaign.
func TestChatConsoleVisitorPanelUTMLabels(t *testing.T) {
	f := newChatFixture(t, "ru")
	f.path = "/?utm_source=vk&utm_medium=social"
	f.openedByOperator(t, "Здравствуйте! Котлы Baxi есть?")
	f.opWait(t, "the visitor panel is filled", `document.querySelector('#c-journey-body dl')`)
	rows := opEval[[]string](t, f, `[...document.querySelectorAll('#c-journey-body dl > div, #c-journey-body dt')].map(e => e.tagName == "DT" ? e.textContent + " = " + (e.nextElementSibling ? e.nextElementSibling.textContent : "") : null).filter(Boolean)`)
	all := strings.Join(rows, "\n")
	if strings.Contains(all, "Кампания = vk") {
		t.Errorf("the panel calls the visit's source and medium its campaign:\n%s", all)
	}
	if !strings.Contains(all, "Источник: vk · Тип трафика: social") {
		t.Errorf("the panel does not name the visit's UTM tags:\n%s", all)
	}
	f.noExceptions(t)
}
