/// The fever pre-check in force: symptoms, epidemiological history and risk groups.
public enum PreCheck {
    /// Versions the server still accepts answers for (a phone may answer an older one offline).
    public static let questionnaires: [Int: Questionnaire] = [1: version1]

    public static var current: Questionnaire { version1 }

    static let version1: Questionnaire = {
        typealias Item = Questionnaire.Item
        typealias Option = Questionnaire.Option
        func yesNo(
            _ linkId: String,
            _ group: String,
            _ text: String,
            required: Bool = true,
            when conditions: [Questionnaire.EnableWhen]? = nil
        ) -> Item {
            Item(linkId: linkId, group: group, text: text, type: .boolean, required: required, enableWhen: conditions)
        }
        func options(_ pairs: [(String, String)]) -> [Option] { pairs.map { Option(code: $0.0, display: $0.1) } }
        let fever = Questionnaire.EnableWhen(question: "temperature", operator: ">=", answer: .number(37.3))
        return Questionnaire(
            version: 1,
            title: "发热预检 Fever pre-check",
            items: [
                Item(
                    linkId: "temperature",
                    group: "symptoms",
                    text: "过去24小时最高体温 Highest temperature in the last 24 hours",
                    type: .decimal,
                    required: true,
                    minValue: 34,
                    maxValue: 43,
                    unit: "°C"
                ),
                Item(
                    linkId: "feverDays",
                    group: "symptoms",
                    text: "发热几天了 Days with fever",
                    type: .integer,
                    required: true,
                    minValue: 0,
                    maxValue: 60,
                    unit: "days",
                    enableWhen: [fever]
                ),
                yesNo("cough", "symptoms", "咳嗽 Cough"),
                yesNo("soreThroat", "symptoms", "咽痛 Sore throat"),
                yesNo("dyspnoea", "symptoms", "气促、呼吸困难 Shortness of breath"),
                yesNo("lossOfSmellTaste", "symptoms", "嗅觉或味觉减退 Loss of smell or taste"),
                Item(
                    linkId: "otherSymptoms",
                    group: "symptoms",
                    text: "其他症状 Other symptoms",
                    type: .choice,
                    required: false,
                    repeats: true,
                    options: options([
                        ("fatigue", "乏力 Fatigue"), ("myalgia", "肌肉酸痛 Muscle aches"), ("headache", "头痛 Headache"),
                        ("runnyNose", "流涕 Runny nose"), ("diarrhoea", "腹泻 Diarrhoea"), ("vomiting", "呕吐 Vomiting"),
                    ])
                ),
                Item(
                    linkId: "dangerSigns",
                    group: "symptoms",
                    text: "危险征象 Danger signs",
                    type: .choice,
                    required: false,
                    repeats: true,
                    options: options([
                        ("chestPain", "胸痛 Chest pain"), ("confusion", "意识模糊 Confusion"), ("cyanosis", "口唇发紫 Blue lips"),
                        ("unableToDrink", "不能进食饮水 Unable to drink"), ("seizure", "抽搐 Seizure"),
                    ])
                ),
                Item(
                    linkId: "spo2",
                    group: "symptoms",
                    text: "血氧饱和度（家用血氧仪）Oxygen saturation (home oximeter)",
                    type: .integer,
                    required: false,
                    minValue: 50,
                    maxValue: 100,
                    unit: "%"
                ),
                yesNo("contactWithCase", "epidemiology", "14天内接触过确诊或疑似病例 Contact with a confirmed or suspected case in 14 days"),
                Item(
                    linkId: "contactDaysAgo",
                    group: "epidemiology",
                    text: "最后一次接触是几天前 Days since the last contact",
                    type: .integer,
                    required: true,
                    minValue: 0,
                    maxValue: 21,
                    unit: "days",
                    enableWhen: [.init(question: "contactWithCase", operator: "=", answer: .bool(true))]
                ),
                yesNo("riskAreaStay", "epidemiology", "14天内到过风险区域 Stay in a risk area in 14 days"),
                Item(
                    linkId: "riskAreaName",
                    group: "epidemiology",
                    text: "风险区域名称 Which area",
                    type: .string,
                    required: false,
                    maxLength: 100,
                    enableWhen: [.init(question: "riskAreaStay", operator: "=", answer: .bool(true))]
                ),
                Item(
                    linkId: "cluster",
                    group: "epidemiology",
                    text: "身边有聚集性发热 Several people with fever around you",
                    type: .choice,
                    required: true,
                    options: options([
                        ("none", "无 None"), ("work", "单位 At work"), ("school", "学校 At school"),
                        ("household", "家庭 In the household"), ("careHome", "养老机构 In a care home"),
                    ])
                ),
                Item(linkId: "age", group: "risk", text: "年龄 Age", type: .integer, required: true, minValue: 0, maxValue: 120, unit: "years"),
                yesNo(
                    "pregnant",
                    "risk",
                    "是否怀孕 Pregnant",
                    when: [
                        .init(question: "age", operator: ">=", answer: .integer(12)), .init(question: "age", operator: "<=", answer: .integer(55)),
                    ]
                ),
                Item(
                    linkId: "chronicDiseases",
                    group: "risk",
                    text: "慢性病 Chronic diseases",
                    type: .choice,
                    required: false,
                    repeats: true,
                    options: options([
                        ("hypertension", "高血压 Hypertension"), ("diabetes", "糖尿病 Diabetes"), ("copd", "慢阻肺 COPD"),
                        ("heartDisease", "心脏病 Heart disease"), ("kidneyDisease", "肾病 Kidney disease"),
                        ("liverDisease", "肝病 Liver disease"), ("cancer", "肿瘤 Cancer"),
                    ])
                ),
                yesNo("immunosuppressed", "risk", "免疫抑制（器官移植、化疗、长期激素）Immunosuppressed"),
                yesNo(
                    "guardianPresent",
                    "risk",
                    "有监护人陪同 A guardian comes along",
                    when: [.init(question: "age", operator: "<", answer: .integer(6))]
                ),
            ]
        )
    }()
}

extension Questionnaire {
    static let groupTitles: [String: String] = [
        "symptoms": "症状 Symptoms", "epidemiology": "流行病学史 Epidemiological history", "risk": "高危人群 Risk groups",
    ]

    /// The questionnaire as a FHIR R4 `Questionnaire` resource: one `group` item per group,
    /// `choice` items with `answerOption` codings, `enableWhen` with typed answers, ranges as
    /// `minValue`/`maxValue` extensions, and `maxLength`.
    public var fhir: JSONValue {
        func typedAnswer(_ value: JSONValue, prefix: String, for type: ItemType) -> (String, JSONValue) {
            switch value {
            case .bool(let flag): return ("\(prefix)Boolean", .bool(flag))
            case .string(let code): return ("\(prefix)Coding", .object(["code": .string(code)]))
            case .integer(let number) where type == .decimal: return ("\(prefix)Decimal", .number(Double(number)))
            case .integer(let number): return ("\(prefix)Integer", .integer(number))
            case .number(let number) where type == .integer: return ("\(prefix)Integer", .integer(Int64(number)))
            case .number(let number): return ("\(prefix)Decimal", .number(number))
            default: return ("\(prefix)String", .string(value.display))
            }
        }
        func bound(_ url: String, _ value: Double, _ type: ItemType) -> JSONValue {
            type == .integer
                ? .object(["url": .string(url), "valueInteger": .integer(Int64(value))])
                : .object(["url": .string(url), "valueDecimal": .number(value)])
        }
        var groups: [String] = []
        for item in items where !groups.contains(item.group) { groups.append(item.group) }
        let groupItems: [JSONValue] = groups.map { group in
            let children: [JSONValue] = items.filter { $0.group == group }.map { item in
                var object: [String: JSONValue] = [
                    "linkId": .string(item.linkId), "text": .string(item.text), "type": .string(item.type.rawValue),
                    "required": .bool(item.required),
                ]
                if item.repeats == true { object["repeats"] = .bool(true) }
                if let options = item.options {
                    object["answerOption"] = .array(
                        options.map { option in
                            .object([
                                "valueCoding": .object([
                                    "system": .string("urn:healthcloud:precheck:\(item.linkId)"),
                                    "code": .string(option.code), "display": .string(option.display),
                                ])
                            ])
                        }
                    )
                }
                if let maxLength = item.maxLength { object["maxLength"] = .integer(Int64(maxLength)) }
                var extensions: [JSONValue] = []
                if let low = item.minValue { extensions.append(bound("http://hl7.org/fhir/StructureDefinition/minValue", low, item.type)) }
                if let high = item.maxValue { extensions.append(bound("http://hl7.org/fhir/StructureDefinition/maxValue", high, item.type)) }
                if let unit = item.unit {
                    extensions.append(
                        .object([
                            "url": .string("http://hl7.org/fhir/StructureDefinition/questionnaire-unit"),
                            "valueCoding": .object(["display": .string(unit)]),
                        ])
                    )
                }
                if !extensions.isEmpty { object["extension"] = .array(extensions) }
                if let conditions = item.enableWhen {
                    object["enableWhen"] = .array(
                        conditions.map { condition in
                            let type = self.item(condition.question)?.type ?? .string
                            let (key, value) = typedAnswer(condition.answer, prefix: "answer", for: type)
                            return .object(["question": .string(condition.question), "operator": .string(condition.operator), key: value])
                        }
                    )
                    if conditions.count > 1 { object["enableBehavior"] = .string(item.enableBehavior ?? "all") }
                }
                return .object(object)
            }
            return .object([
                "linkId": .string(group), "text": .string(Self.groupTitles[group] ?? group), "type": .string("group"), "item": .array(children),
            ])
        }
        return .object([
            "resourceType": .string("Questionnaire"),
            "id": .string("healthcloud-precheck-v\(version)"),
            "url": .string("urn:healthcloud:questionnaire:precheck"),
            "version": .string(String(version)),
            "name": .string("FeverPreCheck"),
            "title": .string(title),
            "status": .string("active"),
            "subjectType": .array([.string("Patient")]),
            "item": .array(groupItems),
        ])
    }
}
